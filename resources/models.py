from __future__ import annotations

import re
from urllib.parse import quote

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager

from accounts.models import Viewer
from communities import policy
from communities.models import Community


class ResourceQuerySet(models.QuerySet["Resource"]):
    def visible_to(self, user: Viewer) -> ResourceQuerySet:
        """Resources ``user`` may open (``policy.can_view_resource``): the one definition every list uses."""
        return self.filter(policy.visible_resources_q(user))

    def listed(self) -> ResourceQuerySet:
        """Resources every reader of their community sees: not removed."""
        return self.filter(policy.listed_resources_q())


class Resource(models.Model):
    """One piece of the community's shared repertoire."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ENDORSED = "endorsed", "Endorsed"
        SUPERSEDED = "superseded", "Superseded"

    class Kind(models.TextChoices):
        RESEARCH = "research", "Research summary"
        TOOL = "tool", "Tool or template"
        STORY = "story", "Story or case"
        HOWTO = "howto", "How-to"
        LINK = "link", "Link"
        FILE = "file", "File"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="resources")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LINK)
    title = models.CharField(max_length=200)
    url = models.URLField("link", max_length=500, blank=True)
    description = models.TextField(blank=True, max_length=20_000)
    description_html = models.TextField(blank=True)
    # Research summaries: a paper and "so what does this mean in practice?"
    citation_authors = models.CharField("authors", max_length=300, blank=True)
    citation_title = models.CharField("paper title", max_length=300, blank=True)
    citation_venue = models.CharField("journal or venue", max_length=200, blank=True)
    citation_year = models.PositiveSmallIntegerField("year", null=True, blank=True)
    citation_link = models.CharField("DOI or URL", max_length=300, blank=True)
    summary = models.TextField("plain-language summary", blank=True, max_length=10_000)
    summary_html = models.TextField(blank=True)
    in_practice = models.TextField("in practice", blank=True, max_length=10_000)
    in_practice_html = models.TextField(blank=True)
    # Research-to-practice loop: one concrete thing a reader can try (the practice app asks how it went).
    try_this = models.CharField("try this", max_length=500, blank=True)
    # core.markup.RENDER_VERSION of the three *_html fields; rerender_markup picks up rows behind it.
    render_version = models.PositiveSmallIntegerField(default=0, editable=False)
    # Search: plain text of every field (SQLite fallback and snippets) and,
    # on PostgreSQL, a weighted vector (title A, the rest B) kept by services.
    search_text = models.TextField(blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    # Files: stored under a generated name; the original name only names the download.
    file = models.FileField(upload_to="resources/%Y/%m/", blank=True, max_length=300)
    file_name = models.CharField(max_length=200, blank=True)
    file_type = models.CharField(max_length=120, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    preview = models.ImageField(upload_to="previews/%Y/%m/", blank=True, max_length=300)
    tags = TaggableManager(blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="resources"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    # Curation: pinned resources show first, in the order facilitators set.
    pin_position = models.PositiveIntegerField(null=True, blank=True)
    helpful_count = models.PositiveIntegerField(default=0)
    thread = models.OneToOneField(
        "discussions.Thread", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The repertoire's life: a draft (its owner and facilitators see it), published, endorsed by a
    # facilitator, or superseded by a newer resource of the same community.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PUBLISHED)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endorsed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endorsed_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    review_by = models.DateField("review by", null=True, blank=True)

    objects = ResourceQuerySet.as_manager()

    class Meta:
        indexes = [
            # Library, newest first (pinned ones are few and fetched apart).
            models.Index(
                fields=["community", "-created_at"], name="resource_newest", condition=Q(removed_at__isnull=True)
            ),
            # Library sorted by most helpful.
            models.Index(
                fields=["community", "-helpful_count", "-created_at"],
                name="resource_helpful",
                condition=Q(removed_at__isnull=True),
            ),
            # Pinned strip on the library and community front page.
            models.Index(
                fields=["community", "pin_position"], name="resource_pinned", condition=Q(pin_position__isnull=False)
            ),
            # Facilitators' "due for review" list and digest section.
            models.Index(
                fields=["community", "review_by"], name="resource_review_by", condition=Q(review_by__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("resources:detail", kwargs={"slug": self.community.slug, "pk": self.pk})

    @property
    def is_pinned(self) -> bool:
        return self.pin_position is not None

    @property
    def is_research(self) -> bool:
        return self.kind == self.Kind.RESEARCH

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_superseded(self) -> bool:
        return self.status == self.Status.SUPERSEDED

    @property
    def is_endorsed(self) -> bool:
        return self.status == self.Status.ENDORSED

    @property
    def citation_href(self) -> str:
        """Where the citation leads: a DOI at doi.org, a PMID at PubMed, a link as it is (no fetching)."""
        return citation_href(self.citation_link)


# Research summaries cite a paper by DOI ("10.1000/xyz123", "doi:…", "https://doi.org/…") or by
# PubMed id ("PMID: 12345678" or the digits); a plain https link is still accepted.
DOI_RE = re.compile(r"^10\.\d{4,9}/[^\s\x00-\x1f<>\"]{1,250}$")
PMID_RE = re.compile(r"^[1-9]\d{0,8}$")


def normalise_citation(text: str) -> tuple[str, str] | None:
    """("doi"|"pmid"|"url", canonical value) for a citation, or None if it is neither."""
    value = text.strip()
    lowered = value.lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:"):
        if lowered.startswith(prefix):
            value = value[len(prefix) :].strip()
            lowered = value.lower()
            break
    if DOI_RE.match(value):
        return ("doi", value)
    for prefix in ("pmid:", "pmid"):
        if lowered.startswith(prefix):
            value = value[len(prefix) :].strip()
            break
    if PMID_RE.match(value):
        return ("pmid", value)
    if lowered.startswith("https://") and not any(c.isspace() for c in value):
        return ("url", value)
    return None


def citation_href(text: str) -> str:
    found = normalise_citation(text) if text else None
    if found is None:
        return ""
    kind, value = found
    if kind == "doi":
        return "https://doi.org/" + quote(value, safe="/:;()._-")
    if kind == "pmid":
        return f"https://pubmed.ncbi.nlm.nih.gov/{value}/"
    return value


class ResourceReaction(models.Model):
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "user"], name="one_helpful_per_resource")]
        indexes = [models.Index(fields=["user", "resource"], name="resource_reaction_user")]

    def __str__(self) -> str:
        return f"{self.user_id} found resource {self.resource_id} helpful"


class ResourceReview(models.Model):
    """A facilitator's review: what they checked, and when to look again."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    checked = models.TextField(max_length=2_000)
    next_review_by = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"review of resource {self.resource_id}"


class ResourceFileVersion(models.Model):
    """An earlier file of a resource, kept when a new one replaced it."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="file_versions")
    file = models.FileField(upload_to="resources/%Y/%m/", max_length=300)
    file_name = models.CharField(max_length=200)
    file_type = models.CharField(max_length=120)
    file_size = models.PositiveBigIntegerField(default=0)
    replaced_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-replaced_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name


class ResourceThread(models.Model):
    """A discussion a resource grew out of ("produced by") or that discusses it ("discussed in")."""

    class Relation(models.TextChoices):
        PRODUCED_BY = "produced_by", "Produced by"
        DISCUSSED_IN = "discussed_in", "Discussed in"

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="thread_links")
    thread = models.ForeignKey("discussions.Thread", on_delete=models.CASCADE, related_name="resource_links")
    relation = models.CharField(max_length=12, choices=Relation.choices)
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "thread", "relation"], name="one_link_per_relation")]
        indexes = [models.Index(fields=["thread", "relation"], name="resource_thread_by_thread")]

    def __str__(self) -> str:
        return f"resource {self.resource_id} {self.relation} thread {self.thread_id}"
