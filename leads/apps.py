from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        from leads.roles import roles_ensure_on_migrate

        # Groups and their permissions are kept in code (leads/roles.py) and brought up to date
        # after every migrate, once Django has created the permissions they refer to.
        post_migrate.connect(roles_ensure_on_migrate, dispatch_uid="leads.roles_ensure")
        from leads.lifecycle import reasons_ensure_on_migrate

        # The default reason lists, in a database that has none (a flushed test database, too).
        post_migrate.connect(reasons_ensure_on_migrate, dispatch_uid="leads.reasons_ensure")
