"""Test helpers for the device registry and the readings table (no mocks: real rows)."""

from django.db import connection

from iot.catalogue import metrics_ensure
from iot.devices.services import device_create


def make_device(serial: str, *, kind: str = "meter", protocol: str = "mqtt", plant=None, **extra):
    """A registered device and its secret (the metric catalogue is ensured too, since
    transactional tests flush the rows the data migration seeded)."""
    metrics_ensure()
    return device_create(serial=serial, kind=kind, protocol=protocol, plant=plant, **extra)


def stored_readings(device=None) -> list[tuple]:
    """(serial, metric code, ts, value) of stored readings, ordered."""
    sql = ("SELECT d.serial, m.code, r.ts, r.value FROM iot_reading r "
           "JOIN iot_device d ON d.id = r.device_id JOIN iot_metric m ON m.id = r.metric_id")
    params = []
    if device is not None:
        sql += " WHERE r.device_id = %s"
        params.append(device.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY 1, 2, 3", params)
        return cursor.fetchall()
