"""The energy communities' regime rules: pure functions without Django, one module per
regime, imported by the simulation (and billing). Their figures come from one source,
`communities/regime_sets.py` (what the RegimeParameters table is seeded from).

- `it_cacer`: Italy's CER / AUC (TIP, valorisation, excess premium, geographic zones).
- `allocation`: the allocation keys France and Austria share (capped, surplus reported).
- `fr_acc`: France's ACC (four keys, perimeter with derogations, power cap).
- `at_eeg`: Austria's EEG (static / dynamic with participation factors, grid-fee saving).
"""
