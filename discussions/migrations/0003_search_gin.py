from django.db import migrations

from core.search import gin_index_operations


class Migration(migrations.Migration):
    dependencies = [("discussions", "0002_post_search_vector_thread_search_vector")]

    # Full-text search over threads and posts (discovery.search): GIN on the stored vectors.
    operations = [
        *gin_index_operations("discussions_thread", "thread_search_gin"),
        *gin_index_operations("discussions_post", "post_search_gin"),
    ]
