"""The organisation directory as the import reads it: units found by full or short name."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.constants import OrgKind
from accounts.models import Organisation
from ledger.imports.cells import CellError, UnknownUnit, name_key


class Directory:
    """The organisation directory, loaded once, to find units by full or short name."""

    def __init__(self, orgs: Iterable[Organisation]):
        self.by_name: dict[str, Organisation] = {}
        self.by_short: dict[str, list[Organisation]] = {}
        self.by_pk: dict[int, Organisation] = {}
        for org in orgs:
            self.by_pk[org.pk] = org
            self.by_name[name_key(org.name)] = org
            self.by_short.setdefault(name_key(org.short_name), []).append(org)

    @classmethod
    def load(cls) -> Directory:
        return cls(
            Organisation.objects.only("pk", "name", "short_name", "kind", "parent_id", "is_active")
        )

    def find(
        self,
        text: str,
        kinds: Iterable[str] | None = None,
        region: str = "",
        keep: Iterable[int] = (),
    ) -> Organisation:
        """The unit named `text` (full name first, then short name), among `kinds` if given;
        a short name shared by several units is settled by `region` (the unit whose parent
        is named so). A unit no longer in use (停用) is refused, unless it is one of `keep`
        (what an existing record already names and the row leaves as it is). Raises
        CellError in Chinese."""
        found = self._find(text, kinds, region)
        if not found.is_active and found.pk not in set(keep):
            raise CellError(f"「{found.name}」已停用，不能填写停用的单位。")
        return found

    def _find(self, text: str, kinds: Iterable[str] | None, region: str) -> Organisation:
        key = name_key(text)
        kinds = set(kinds) if kinds else None
        org = self.by_name.get(key)
        candidates = [org] if org is not None else list(self.by_short.get(key, ()))
        if kinds is not None:
            fitting = [o for o in candidates if o.kind in kinds]
            if candidates and not fitting:
                labels = "、".join(OrgKind(k).label for k in sorted(kinds))
                raise CellError(f"「{text}」不是{labels}。")
            candidates = fitting
        if len(candidates) > 1 and region:
            region_key = name_key(region)
            parents = {
                o.pk
                for o in self.by_pk.values()
                if region_key in (name_key(o.name), name_key(o.short_name))
            }
            candidates = [o for o in candidates if o.parent_id in parents] or candidates
        if not candidates:
            raise UnknownUnit(f"单位名录中没有「{text}」。")
        if len(candidates) > 1:
            # A short name shared with a unit no longer in use names the one in use.
            candidates = [o for o in candidates if o.is_active] or candidates
        if len(candidates) > 1:
            raise CellError(f"简称「{text}」对应多个单位，请填写全称。")
        return candidates[0]
