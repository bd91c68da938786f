from django.test import override_settings


def test_it_reports_all_services_up(client, db):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {k: v["status"] for k, v in body["checks"].items()} == {
        "database": "up", "redis": "up", "broker": "up"
    }


def test_it_answers_503_when_redis_is_down(client, db):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "down"
    assert response.json()["checks"]["database"]["status"] == "up"


def test_it_answers_503_when_the_broker_is_down(client, db):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/1"):
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"


def test_it_carries_a_request_id(client, db):
    response = client.get("/health", HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"
