"""Anchor 1.x IDL (spec 0.1.0) ⇄ the legacy IDL form AnchorPy 0.21 reads.

AnchorPy 0.21 only understands the legacy IDL: camelCase names, `publicKey`,
`defined: "Name"`, `isMut`/`isSigner`, account structs under `accounts` and event
fields under `events`. Anchor 1.x (Velocity, newer Drift SDKs) writes snake_case names,
`pubkey`, `{"defined": {"name": ...}}`, `writable`/`signer`, explicit discriminators and
keeps every struct under `types`. `to_legacy` rewrites the new form into the old one so
one loader serves both; `from_legacy` is its inverse, which the tests use to prove the
rewrite loses nothing.

What the legacy form has no slot for (discriminators, PDA seeds, fixed addresses,
zero-copy serialization, a snake name that camelCase cannot give back) rides along
under keys AnchorPy ignores (`discriminator`, `pda`, `address`, `serialization`, `repr`,
`snakeName`). Discriminators are checked on the way: AnchorPy derives them from the
names (sha256 of "global:<snake>", "account:<Name>", "event:<Name>"), so an IDL whose
explicit discriminator differs could never be decoded right and is refused.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from keeper.core.errors import ConfigError

#: Keys of a 1.x instruction account that AnchorPy 0.21 has no slot for. They ride along
#: under `anchor1` (the legacy parser reads `pda` in its own, different shape).
_META_EXTRA = ("address", "pda")
#: Keys of a 1.x type entry the legacy form has no slot for; also kept under `anchor1`.
_TYPE_EXTRA = ("serialization", "repr")


def is_anchor1(raw: dict[str, Any]) -> bool:
    """An Anchor 1.x IDL names its program at the top and carries `metadata.spec`."""
    meta = raw.get("metadata")
    return "address" in raw and isinstance(meta, dict) and "spec" in meta


def discriminator(namespace: str, name: str) -> list[int]:
    """The first 8 bytes of sha256("<namespace>:<name>"), as Anchor derives them."""
    return list(hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8])


def camel(snake: str) -> str:
    """Anchor's legacy camelCase of a snake name (leading underscores dropped)."""
    head, *rest = snake.lstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(camel_name: str) -> str:
    """The snake name AnchorPy derives from a camelCase one."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel_name).lower()


# -- 1.x → legacy ----------------------------------------------------------------------


def _legacy_name(name: str) -> dict[str, Any]:
    """`name` camelCased; `snakeName` remembers the original when camel loses it."""
    out: dict[str, Any] = {"name": camel(name)}
    if snake(out["name"]) != name:
        out["snakeName"] = name
    return out


def _legacy_type(ty: Any) -> Any:
    if isinstance(ty, str):
        return "publicKey" if ty == "pubkey" else ty
    if not isinstance(ty, dict):
        raise ConfigError(f"IDL type {ty!r} is not understood")
    if "defined" in ty:
        inner = ty["defined"]
        if isinstance(inner, dict):
            if inner.get("generics"):
                raise ConfigError(f"IDL type {inner['name']}: generic types are not supported")
            return {"defined": inner["name"]}
        return {"defined": inner}
    if "array" in ty:
        inner_ty, count = ty["array"]
        if not isinstance(count, int):
            raise ConfigError(f"IDL array length {count!r} is not a number")
        return {"array": [_legacy_type(inner_ty), count]}
    for key in ("option", "vec", "coption"):
        if key in ty:
            return {key: _legacy_type(ty[key])}
    raise ConfigError(f"IDL type {ty!r} is not understood")


def _legacy_field(fld: dict[str, Any], *, event: bool = False) -> dict[str, Any]:
    out = _legacy_name(fld["name"])
    if "docs" in fld:
        out["docs"] = fld["docs"]
    out["type"] = _legacy_type(fld["type"])
    if event:
        out["index"] = False
    return out


def _legacy_typedef(typedef: dict[str, Any]) -> dict[str, Any]:
    kind = typedef["kind"]
    if kind == "struct":
        fields = typedef.get("fields", [])
        if fields and not isinstance(fields[0], dict):
            raise ConfigError("IDL tuple structs are not supported")
        return {"kind": "struct", "fields": [_legacy_field(f) for f in fields]}
    if kind == "enum":
        variants = []
        for v in typedef["variants"]:
            lv: dict[str, Any] = {"name": v["name"]}
            if "fields" in v:
                fields = v["fields"]
                lv["fields"] = [
                    _legacy_field(f) if isinstance(f, dict) else _legacy_type(f) for f in fields
                ]
            variants.append(lv)
        return {"kind": "enum", "variants": variants}
    if kind == "type":
        return {"kind": "alias", "value": _legacy_type(typedef["alias"])}
    raise ConfigError(f"IDL type kind {kind!r} is not supported")


def _legacy_meta(meta: dict[str, Any]) -> dict[str, Any]:
    out = _legacy_name(meta["name"])
    if "accounts" in meta:  # a nested account group
        out["accounts"] = [_legacy_meta(m) for m in meta["accounts"]]
        return out
    out["isMut"] = bool(meta.get("writable", False))
    out["isSigner"] = bool(meta.get("signer", False))
    if meta.get("optional"):
        out["isOptional"] = True
    if "relations" in meta:
        out["relations"] = [camel(r) for r in meta["relations"]]
        out["relationsSnake"] = list(meta["relations"])
    if "docs" in meta:
        out["docs"] = meta["docs"]
    extra = {key: copy.deepcopy(meta[key]) for key in _META_EXTRA if key in meta}
    if extra:
        out["anchor1"] = extra
    return out


def _carry(typedef: dict[str, Any], out: dict[str, Any]) -> None:
    if "docs" in typedef:
        out["docs"] = typedef["docs"]
    extra = {key: copy.deepcopy(typedef[key]) for key in _TYPE_EXTRA if key in typedef}
    if extra:
        out["anchor1"] = extra


def _checked_disc(entry: dict[str, Any], namespace: str, name: str) -> list[int]:
    want = discriminator(namespace, name)
    got = entry.get("discriminator", want)
    if list(got) != want:
        raise ConfigError(
            f"IDL {namespace} {name}: discriminator {bytes(got).hex()} is not "
            f"sha256('{namespace}:{name}')[:8] = {bytes(want).hex()}; AnchorPy could not decode it"
        )
    return list(got)


def to_legacy(raw: dict[str, Any]) -> dict[str, Any]:
    """The legacy-form IDL AnchorPy 0.21 loads, built from an Anchor 1.x IDL."""
    if not is_anchor1(raw):
        raise ConfigError("IDL is not in the Anchor 1.x format (no address/metadata.spec)")
    meta = raw["metadata"]
    types = {t["name"]: t for t in raw.get("types", [])}
    account_names = [a["name"] for a in raw.get("accounts", [])]
    event_names = [e["name"] for e in raw.get("events", [])]
    for name in (*account_names, *event_names):
        if name not in types:
            raise ConfigError(f"IDL lists {name} but defines no type for it")

    instructions = []
    for ix in raw.get("instructions", []):
        lix = _legacy_name(ix["name"])
        if "snakeName" in lix:
            # AnchorPy hashes snake(legacy name): keep a name it cannot snake back as it is
            lix = {"name": ix["name"]}
        lix["discriminator"] = _checked_disc(ix, "global", ix["name"])
        if "docs" in ix:
            lix["docs"] = ix["docs"]
        lix["accounts"] = [_legacy_meta(m) for m in ix.get("accounts", [])]
        lix["args"] = [_legacy_field(a) for a in ix.get("args", [])]
        if "returns" in ix:
            lix["returns"] = _legacy_type(ix["returns"])
        instructions.append(lix)

    accounts = []
    for entry in raw.get("accounts", []):
        typedef = types[entry["name"]]
        acc: dict[str, Any] = {
            "name": entry["name"],
            "discriminator": _checked_disc(entry, "account", entry["name"]),
        }
        _carry(typedef, acc)
        acc["type"] = _legacy_typedef(typedef["type"])
        accounts.append(acc)

    events = []
    for entry in raw.get("events", []):
        typedef = types[entry["name"]]["type"]
        if typedef.get("kind") != "struct":
            raise ConfigError(f"IDL event {entry['name']} is not a struct")
        events.append(
            {
                "name": entry["name"],
                "discriminator": _checked_disc(entry, "event", entry["name"]),
                "fields": [_legacy_field(f, event=True) for f in typedef.get("fields", [])],
            }
        )

    moved = set(account_names) | set(event_names)
    legacy_types = []
    for position, t in enumerate(raw.get("types", [])):
        if t["name"] in moved:
            continue
        lt: dict[str, Any] = {"name": t["name"], "typeIndex": position}
        _carry(t, lt)
        lt["type"] = _legacy_typedef(t["type"])
        legacy_types.append(lt)
    # where each moved struct sat in the 1.x `types` list, so the inverse can put it back
    positions = {t["name"]: i for i, t in enumerate(raw.get("types", [])) if t["name"] in moved}

    legacy_meta = {k: copy.deepcopy(v) for k, v in meta.items() if k not in ("name", "version")}
    legacy_meta["address"] = raw["address"]
    legacy_meta["typePositions"] = positions
    out: dict[str, Any] = {
        "version": meta["version"],
        "name": meta["name"],
        "instructions": instructions,
        "accounts": accounts,
        "types": legacy_types,
        "events": events,
        "errors": copy.deepcopy(raw.get("errors", [])),
        "metadata": legacy_meta,
    }
    if "constants" in raw:
        out["constants"] = [
            {"name": c["name"], "type": _legacy_type(c["type"]), "value": c["value"]}
            for c in raw["constants"]
        ]
    return out


# -- legacy → 1.x (the inverse, for the round-trip tests) -------------------------------


def _new_name(entry: dict[str, Any]) -> str:
    return str(entry.get("snakeName") or snake(entry["name"]))


def _new_type(ty: Any) -> Any:
    if isinstance(ty, str):
        return "pubkey" if ty == "publicKey" else ty
    if "defined" in ty:
        return {"defined": {"name": ty["defined"]}}
    if "array" in ty:
        inner_ty, count = ty["array"]
        return {"array": [_new_type(inner_ty), count]}
    for key in ("option", "vec", "coption"):
        if key in ty:
            return {key: _new_type(ty[key])}
    raise ConfigError(f"legacy IDL type {ty!r} is not understood")


def _new_field(fld: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": _new_name(fld)}
    if "docs" in fld:
        out["docs"] = fld["docs"]
    out["type"] = _new_type(fld["type"])
    return out


def _new_typedef(typedef: dict[str, Any]) -> dict[str, Any]:
    if typedef["kind"] == "struct":
        return {"kind": "struct", "fields": [_new_field(f) for f in typedef["fields"]]}
    if typedef["kind"] == "enum":
        variants = []
        for v in typedef["variants"]:
            nv: dict[str, Any] = {"name": v["name"]}
            if "fields" in v:
                nv["fields"] = [
                    _new_field(f) if isinstance(f, dict) and "name" in f else _new_type(f)
                    for f in v["fields"]
                ]
            variants.append(nv)
        return {"kind": "enum", "variants": variants}
    return {"kind": "type", "alias": _new_type(typedef["value"])}


def _new_meta(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": _new_name(meta)}
    if "accounts" in meta:
        out["accounts"] = [_new_meta(m) for m in meta["accounts"]]
        return out
    if "docs" in meta:
        out["docs"] = meta["docs"]
    if meta.get("isMut"):
        out["writable"] = True
    if meta.get("isSigner"):
        out["signer"] = True
    if meta.get("isOptional"):
        out["optional"] = True
    out.update(copy.deepcopy(meta.get("anchor1", {})))
    if "relations" in meta:
        out["relations"] = list(meta.get("relationsSnake", [snake(r) for r in meta["relations"]]))
    return out


def from_legacy(legacy: dict[str, Any]) -> dict[str, Any]:
    """The Anchor 1.x IDL `to_legacy` was given (the inverse; used to test the rewrite)."""
    meta = dict(legacy.get("metadata", {}))
    address = meta.pop("address")
    positions: dict[str, int] = meta.pop("typePositions", {})
    instructions = []
    for ix in legacy["instructions"]:
        name = _new_name(ix)
        nix: dict[str, Any] = {"name": name}
        if "docs" in ix:
            nix["docs"] = ix["docs"]
        nix["discriminator"] = list(ix.get("discriminator", discriminator("global", name)))
        nix["accounts"] = [_new_meta(m) for m in ix["accounts"]]
        nix["args"] = [_new_field(a) for a in ix["args"]]
        if "returns" in ix:
            nix["returns"] = _new_type(ix["returns"])
        instructions.append(nix)

    def type_entry(entry: dict[str, Any], typedef: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": entry["name"]}
        if "docs" in entry:
            out["docs"] = entry["docs"]
        out.update(copy.deepcopy(entry.get("anchor1", {})))
        out["type"] = typedef
        return out

    placed: list[tuple[int, dict[str, Any]]] = []
    for t in legacy.get("types", []):
        placed.append(
            (int(t.get("typeIndex", len(placed))), type_entry(t, _new_typedef(t["type"])))
        )
    for a in legacy.get("accounts", []):
        placed.append((positions.get(a["name"], 1 << 30), type_entry(a, _new_typedef(a["type"]))))
    for e in legacy.get("events", []):
        typedef = {"kind": "struct", "fields": [_new_field(f) for f in e["fields"]]}
        placed.append((positions.get(e["name"], 1 << 30), {"name": e["name"], "type": typedef}))
    placed.sort(key=lambda p: p[0])

    out: dict[str, Any] = {
        "address": address,
        "metadata": {"name": legacy["name"], "version": legacy["version"], **meta},
        "instructions": instructions,
        "accounts": [
            {"name": a["name"], "discriminator": list(a.get("discriminator", []))}
            for a in legacy.get("accounts", [])
        ],
        "events": [
            {"name": e["name"], "discriminator": list(e.get("discriminator", []))}
            for e in legacy.get("events", [])
        ],
        "errors": copy.deepcopy(legacy.get("errors", [])),
        "types": [entry for _, entry in placed],
    }
    if "constants" in legacy:
        out["constants"] = [
            {"name": c["name"], "type": _new_type(c["type"]), "value": c["value"]}
            for c in legacy["constants"]
        ]
    return out
