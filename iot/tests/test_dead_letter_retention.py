"""Dead letters are kept IOT_DEAD_LETTER_RETENTION_DAYS, then deleted by a daily beat task."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.beat import beat_sync
from iot.models import DeadLetter
from iot.tasks import DEAD_LETTERS_PURGE_TASK, dead_letters_purge_task

pytestmark = pytest.mark.django_db


def letter(age_days: float) -> DeadLetter:
    return DeadLetter.objects.create(source="mqtt", raw="{}", reason="test",
                                     received_at=timezone.now() - timedelta(days=age_days))


def test_the_beat_task_deletes_dead_letters_past_the_retention(settings):
    settings.IOT_DEAD_LETTER_RETENTION_DAYS = 30
    old, older = letter(31), letter(400)
    kept = [letter(29), letter(0)]

    assert dead_letters_purge_task.apply().get() == {"deleted": 2}

    assert set(DeadLetter.objects.values_list("pk", flat=True)) == {d.pk for d in kept}
    assert not DeadLetter.objects.filter(pk__in=[old.pk, older.pk]).exists()


def test_a_retention_of_zero_keeps_everything(settings):
    settings.IOT_DEAD_LETTER_RETENTION_DAYS = 0
    letter(5000)
    assert dead_letters_purge_task.apply().get() == {"deleted": 0}
    assert DeadLetter.objects.count() == 1


def test_it_is_scheduled_by_beat():
    PeriodicTask.objects.filter(task=DEAD_LETTERS_PURGE_TASK).delete()
    beat_sync()
    task = PeriodicTask.objects.get(task=DEAD_LETTERS_PURGE_TASK)
    assert task.enabled and task.crontab.hour == "3"
