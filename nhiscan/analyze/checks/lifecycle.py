"""Provider-neutral lifecycle checks."""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.analyze.checks import CheckContext, Hit, check


@check("nhi_no_owner")
def nhi_no_owner(ctx: CheckContext) -> Iterator[Hit]:
    tag_names = tuple(ctx.params.get("owner_tags", ()))
    for ident in ctx.identities(nonhuman_only=True):
        if ident.owner or any(ident.tags.get(t) for t in tag_names):
            continue
        if ident.attributes.get("managed_by_provider"):
            continue  # service-linked roles, Google-managed agents: the provider owns them
        if ident.attributes.get("tags_unknown"):
            continue  # the export held no tags (aws iam list-users / list-roles): owner unknown
        yield Hit(
            identity=ident,
            message=f"{ident.kind} {ident.name} has no owner (none of the tags {', '.join(tag_names[:4])}, ... is set)",
        )
