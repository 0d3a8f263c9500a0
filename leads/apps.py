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
