"""The model registry: versions, their runs, served batches and the audit trail."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .storage import artifact_storage


class ModelKind(models.TextChoices):
    RECOMMENDER = "recommender", "Recommendations"
    DEMAND = "demand", "Demand forecast"
    PRICE = "price", "Price forecast"
    IMAGE = "image", "Image categories"
    SEGMENTS = "segments", "Customer segments"


class Run(models.Model):
    """One training or batch-inference run, with its progress as workers report it."""

    class Type(models.TextChoices):
        TRAIN = "train", "Training"
        INFER = "infer", "Inference"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    type = models.CharField(max_length=8, choices=Type.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0 to 100.")
    step = models.PositiveIntegerField(default=0, help_text="Epoch or chunk done.")
    total_steps = models.PositiveIntegerField(default=0)
    eta_seconds = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=255, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    device = models.CharField(max_length=120, blank=True)
    options = models.JSONField(default=dict, blank=True)
    model_version = models.ForeignKey(
        "ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inference_runs",
        help_text="For inference: the version that ran.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "type", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100),
                name="run_progress_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.kind} #{self.pk} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.SUCCEEDED, self.State.FAILED)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ModelVersion(models.Model):
    """A trained model of one kind, its measured quality and its artifact.

    `metrics` and every entry of `baselines` use the same keys, measured on the same
    held-out data (`protocol`). At most one version per kind is champion.
    """

    class Status(models.TextChoices):
        CHAMPION = "champion", "Champion"
        CHALLENGER = "challenger", "Challenger"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    version = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices)
    status_reason = models.TextField(blank=True)
    metrics = models.JSONField(default=dict)
    baselines = models.JSONField(default=dict)
    protocol = models.JSONField(default=dict)
    hyperparameters = models.JSONField(default=dict)
    seed = models.BigIntegerField(null=True, blank=True)
    data_fingerprint = models.JSONField(
        default=dict, help_text="Rows, date range and hash of the training data."
    )
    trained_at = models.DateTimeField()
    training_seconds = models.FloatField(default=0.0)
    device = models.CharField(max_length=120, blank=True)
    artifact = models.FileField(max_length=300, blank=True, storage=artifact_storage)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    run = models.OneToOneField(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="trained_version",
    )

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "version"], name="model_version_unique"
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status="champion"),
                name="one_champion_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version} ({self.algorithm}, {self.status})"

    def as_report(self) -> dict:
        """Return the JSON form of DESIGN.md's `model_report --json`."""
        return {
            "kind": self.kind,
            "version": self.version,
            "status": self.status,
            "algorithm": self.algorithm,
            "trained_at": self.trained_at.isoformat(),
            "protocol": self.protocol,
            "metrics": self.metrics,
            "baselines": self.baselines,
        }


class RegistryEvent(models.Model):
    """The audit trail of the registry: who promoted, rolled back or retired what, and why."""

    class Action(models.TextChoices):
        REGISTERED = "registered", "Registered"
        PROMOTED = "promoted", "Promoted"
        KEPT_AS_CHALLENGER = "kept", "Kept as challenger"
        ROLLED_BACK = "rolled_back", "Rolled back"
        RETIRED = "retired", "Retired"

    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} {self.action} at {self.at:%Y-%m-%d %H:%M}"


class ServedBatch(models.Model):
    """One complete set of served results of a kind; readers only see the active one.

    Inference writes a new batch while the old one stays active, then swaps them in one
    transaction, so that readers never see a half-written or mixed set.
    """

    class State(models.TextChoices):
        BUILDING = "building", "Building"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"
        ABANDONED = "abandoned", "Abandoned"

    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="served_batches"
    )
    run = models.OneToOneField(
        Run, on_delete=models.CASCADE, related_name="served_batch"
    )
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.BUILDING
    )
    total_chunks = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(state="active"),
                name="one_active_batch_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} batch {self.pk} ({self.state})"


class InferenceChunk(models.Model):
    """One slice of a batch inference (a range of customers or products)."""

    batch = models.ForeignKey(
        ServedBatch, on_delete=models.CASCADE, related_name="chunks"
    )
    index = models.PositiveIntegerField()
    keys = models.JSONField(help_text="Primary keys this chunk covers.")
    done = models.BooleanField(default=False)
    rows = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)

    class Meta:
        ordering = ["batch", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "index"], name="inference_chunk_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.batch_id}"
