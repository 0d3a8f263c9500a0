"""The REST API for leads and their reference data: serializers translate, services decide."""
