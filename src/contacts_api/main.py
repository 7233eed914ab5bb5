"""The app factory: one place where the service is assembled."""

from __future__ import annotations

from contacts_api.config import Settings, get_settings
from contacts_api.http.app import ContactsApi
from contacts_api.http.routes import changes, contacts, groups, health, imports


def create_app(settings: Settings | None = None) -> ContactsApi:
    return ContactsApi(
        settings or get_settings(),
        contacts.routes,
        imports.routes,
        groups.routes,
        changes.routes,
        health.routes,
    )
