"""Load test for your own contacts-api deployment, with locust (https://locust.io).

    python3 -m venv /tmp/locust && /tmp/locust/bin/pip install locust
    export CONTACTS_API_KEY=cak_...        # `contacts-api user create loadtest` prints one
    /tmp/locust/bin/locust -f locustfile.py --host http://127.0.0.1:8000/contacts \\
        --headless --users 50 --spawn-rate 10 --run-time 2m

--host is the API's base URL: the gateway's with its prefix (as above), or a replica's
(http://127.0.0.1:8000). locust is not one of the project's dependencies; install it apart.

Every simulated client is one API client of the key's user, calling the seed's endpoints the
way a contact book is used: mostly looking up contacts and groups, some creating, grouping and
deleting. It makes its own contacts and one group at start and deletes what is left of them when
it stops, so the book ends as it began (contacts created by a run that is killed stay). Only an
answer with "status": "success" counts as a success; any other is a failure named by its error
code (MSISDN_EXISTS, a random number taken twice, is one).
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any

from locust import HttpUser, between, task
from locust.exception import StopUser

KEY = os.environ.get("CONTACTS_API_KEY", "")
if not KEY:
    sys.exit("locustfile.py: set CONTACTS_API_KEY to the API key of the user to load-test as")


class ContactBookClient(HttpUser):
    # Think time between two calls of one client.
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.client.headers["X-API-Key"] = KEY
        self.contacts: list[int] = []
        self.memberships: set[int] = set()
        body = self._call("/group/create/api.json", name=f"locust {id(self):x}")
        if body.get("status") != "success":
            raise StopUser  # a wrong key or --host: the failure is in the statistics
        self.group_id: int = body["group"]["controlgroup"]
        for _ in range(3):
            self.create_contact()

    def on_stop(self) -> None:
        for contact in self.contacts:
            self._call("/contact/delete/api.json", contact=contact)
        self._call("/group/delete/api.json", group=self.group_id)

    def _call(self, path: str, **params: Any) -> dict[str, Any]:
        """GET path?params, as the seed does; named by its path in locust's statistics."""
        with self.client.get(path, params=params, name=path, catch_response=True) as answer:
            try:
                body: dict[str, Any] = answer.json()
            except ValueError:
                answer.failure(f"HTTP {answer.status_code}, not JSON")
                return {}
            if body.get("status") == "success":
                answer.success()
            else:
                answer.failure(body.get("error", f"HTTP {answer.status_code}"))
            return body

    def _some_contact(self) -> int | None:
        return random.choice(self.contacts) if self.contacts else None

    @task(35)
    def view_contact(self) -> None:
        contact = self._some_contact()
        if contact is not None:
            self._call("/view/contact/api.json", contact=contact)

    @task(15)
    def view_groups(self) -> None:
        self._call("/view/groups/api.json")

    # The whole book, streamed: the heaviest call, so the least frequent read.
    @task(5)
    def view_contacts(self) -> None:
        self._call("/view/contacts/api.json")

    @task(15)
    def create_contact(self) -> None:
        msisdn = f"45{random.randrange(10**8):08d}"
        body = self._call("/contact/create/api.json", fullname="Locust Contact", msisdn=msisdn)
        if body.get("status") == "success":
            self.contacts.append(body["contact"]["controlcontact"])

    @task(10)
    def add_to_group(self) -> None:
        contact = self._some_contact()
        if contact is not None:
            self._call("/contact/addgroup/api.json", contact=contact, group=self.group_id)
            self.memberships.add(contact)

    @task(8)
    def remove_from_group(self) -> None:
        if self.memberships:
            contact = self.memberships.pop()
            self._call("/contact/removegroup/api.json", contact=contact, group=self.group_id)

    @task(12)
    def delete_contact(self) -> None:
        # Keep a few, so the reads have something to read.
        if len(self.contacts) > 3:
            contact = self.contacts.pop(random.randrange(len(self.contacts)))
            self.memberships.discard(contact)
            self._call("/contact/delete/api.json", contact=contact)
