"""The rollup tables are raw SQL (see `iot/rollups/ddl.py`): no models here. The device
alert raised by offline detection is `iot.models.Alert` (same table `iot_alert`)."""
