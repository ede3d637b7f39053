from django.db import migrations

from core.search import gin_index_operations


class Migration(migrations.Migration):
    dependencies = [("resources", "0001_initial")]

    # Full-text search over resources (discovery.search): GIN on the stored vector.
    operations = gin_index_operations("resources_resource", "resource_search_gin")
