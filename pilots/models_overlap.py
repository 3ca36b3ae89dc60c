"""The overlap index of R1.3 (避免重复交叉): what `pilots.overlap` stores about each pilot's text
so that finding the pilots a new application may duplicate is a few indexed look-ups.

Nothing here is a record of the registry: every row is derived from a pilot's text and can be
rebuilt at any time with ``manage.py reindex_overlap``. The pilot is referenced by the string
"pilots.Pilot" so that this module never imports pilots.models.
"""

from __future__ import annotations

from django.db import models

__all__ = ["OverlapBand", "OverlapConcept", "OverlapFingerprint", "OverlapTerm"]


class OverlapFingerprint(models.Model):
    """One pilot's terms (content words of its name, goal, measures and scope, as sorted
    32-bit ids), the reform items its text mentions and those it is about (its core), and what
    else is needed to find and remove its index rows again."""

    pilot = models.OneToOneField(
        "pilots.Pilot",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="overlap_fingerprint",
    )
    version = models.PositiveSmallIntegerField("算法版本")
    text_hash = models.CharField("文本摘要", max_length=32)
    terms = models.BinaryField("内容词项")  # unsigned 32-bit ids, little-endian, sorted
    term_count = models.PositiveIntegerField("内容词项数", default=0)
    # Reform items (ids of pilots.overlap.text.concept_id) of name, goal and measures, and
    # those of the core; both sorted, as `terms`.
    concepts = models.BinaryField("涉及改革事项", default=b"")
    core = models.BinaryField("核心改革事项", default=b"")
    # Whether the pilot's sampled terms are in OverlapTerm (comprehensive or state-deployed).
    is_reference = models.BooleanField("收入词项索引", default=False)
    indexed_at = models.DateTimeField("索引时间", auto_now=True)

    class Meta:
        verbose_name = "重复交叉指纹"
        verbose_name_plural = "重复交叉指纹"

    def __str__(self) -> str:
        return f"{self.pilot_id} v{self.version}"


class OverlapBand(models.Model):
    """One LSH band of a pilot's MinHash signature. `key` holds the band's hash in its high bits and
    the band number in its low 8 bits, so that a query is one indexed ``key IN (...)``."""

    pk = models.CompositePrimaryKey("key", "pilot")
    key = models.BigIntegerField("分带键")
    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = "重复交叉分带"
        verbose_name_plural = "重复交叉分带"

    def __str__(self) -> str:
        return f"{self.pilot_id}:{self.key & 0xFF}"


class OverlapTerm(models.Model):
    """An inverted index of (hash-sampled) content terms, kept only for comprehensive pilots
    and pilots deployed by the state, to find the ones whose text covers a new application."""

    pk = models.CompositePrimaryKey("term", "pilot")
    term = models.IntegerField("词项")
    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = "重复交叉词项"
        verbose_name_plural = "重复交叉词项"

    def __str__(self) -> str:
        return f"{self.pilot_id}:{self.term}"


class OverlapConcept(models.Model):
    """An inverted index of the reform items every pilot mentions (key: concept_id) and of
    those it is about (key: core_key), to find the same reform in other words."""

    pk = models.CompositePrimaryKey("concept", "pilot")
    concept = models.IntegerField("改革事项")
    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = "重复交叉改革事项"
        verbose_name_plural = "重复交叉改革事项"

    def __str__(self) -> str:
        return f"{self.pilot_id}:{self.concept}"
