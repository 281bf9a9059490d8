"""Categories, translations linked by group, and one article per language in a group."""

from fastapi.testclient import TestClient

from tests.factories import ADMIN, make_article


def test_translations_are_listed_on_each_article(empty_client: TestClient) -> None:
    make_article(empty_client, "parking-en", title="Parking", translation_group="parking")
    make_article(
        empty_client, "parking-ru", language="ru", title="Парковка", translation_group="parking"
    )
    en = empty_client.get("/v1/articles/parking-en", headers=ADMIN).json()
    assert en["translations"] == {"ru": "parking-ru"}
    listing = empty_client.get("/v1/articles", headers=ADMIN).json()["items"]
    assert {a["id"]: a["translations"] for a in listing} == {
        "parking-en": {"ru": "parking-ru"},
        "parking-ru": {"en": "parking-en"},
    }


def test_second_article_of_a_language_in_a_group_is_409(empty_client: TestClient) -> None:
    make_article(empty_client, "parking-en", title="Parking", translation_group="parking")
    response = empty_client.put(
        "/v1/articles/parking-en-2",
        json={"language": "en", "title": "Parking again", "translation_group": "parking"},
        headers=ADMIN,
    )
    assert response.status_code == 409
    assert "parking-en" in response.json()["detail"]
    assert empty_client.get("/v1/articles/parking-en-2", headers=ADMIN).status_code == 404


def test_articles_filter_by_category(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", title="Parking", categories=["Visiting us"])
    make_article(empty_client, "billing", title="Billing", categories=["Money"])
    found = empty_client.get(
        "/v1/articles", params={"category": "Visiting us"}, headers=ADMIN
    ).json()
    assert [a["id"] for a in found["items"]] == ["parking"]
    assert found["items"][0]["categories"] == ["Visiting us"]
