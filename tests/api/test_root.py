import pytest

from tests.support import factories as f


@pytest.mark.django_db
def test_the_browsable_api_root_links_only_the_api(client):
    """Calls, callbacks and swaps once linked to the HTML pages of the same name."""
    client.force_login(f.coordinator_user(username="c"))
    links = client.get("/api/v1/", HTTP_ACCEPT="application/json").json()
    assert {"calls", "callbacks", "swaps", "escalations", "rosters"} <= set(links)
    for name, url in links.items():
        assert url.startswith("http://testserver/api/v1/"), (name, url)
