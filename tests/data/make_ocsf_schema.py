"""Compile OCSF's Compliance Finding class (2003) into a JSON Schema, from the OCSF schema sources.

Run from a clone of github.com/ocsf/ocsf-schema:

    python tests/data/make_ocsf_schema.py PATH/TO/ocsf-schema 1.5.0 > tests/data/ocsf-1.5.0-compliance-finding.schema.json

It reads the class, its parents (``finding``, ``base_event``), every object they reach (with
the objects they extend) and the dictionary's types, at the given tag. Objects are closed
(``additionalProperties: false``), ``requirement: required`` attributes are required, an
object's ``at_least_one`` constraint becomes ``anyOf``, and ``*_id`` attributes with an enum
only accept its values. Profiles are left out (events that use none of them carry none of
their attributes); ``object`` (``unmapped``) and ``json_t`` values stay open.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_PRIMITIVE = {"string_t": "string", "integer_t": "integer", "long_t": "integer",
              "float_t": "number", "boolean_t": "boolean", "json_t": None, "object_t": "object"}


class Compiler:
    def __init__(self, repo: str, tag: str) -> None:
        self.repo, self.tag = repo, tag
        dictionary = self.load("dictionary.json")
        self.attributes: dict[str, Any] = dictionary["attributes"]
        self.types: dict[str, Any] = dictionary["types"]["attributes"]
        self.defs: dict[str, Any] = {}

    def load(self, path: str) -> dict[str, Any]:
        text = subprocess.run(["git", "-C", self.repo, "show", f"{self.tag}:{path}"],
                              capture_output=True, text=True, check=True).stdout
        data: dict[str, Any] = json.loads(text)
        return data

    def merged(self, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The attributes of a class or object with those of what it extends."""
        d = self.load(path)
        attrs: dict[str, Any] = {}
        parent = d.get("extends")
        if parent and parent != "object":
            if path.startswith("objects/"):
                parent_path = f"objects/{parent}.json"
            else:
                parent_path = f"events/{'findings/' if parent == 'finding' else ''}{parent}.json"
            attrs.update(self.merged(parent_path)[0])
        for name, spec in d.get("attributes", {}).items():
            if name != "$include":
                attrs[name] = {**attrs.get(name, {}), **spec}
        return attrs, d.get("constraints", {})

    def primitive(self, t: str) -> str | None:
        while t not in _PRIMITIVE:
            t = self.types[t]["type"]
        return _PRIMITIVE[t]

    def attribute(self, name: str, local: dict[str, Any]) -> dict[str, Any]:
        g = self.attributes[name]
        t = local.get("type", g["type"])
        enum = local.get("enum", g.get("enum"))
        schema: dict[str, Any]
        if t == "object_t" or (t not in _PRIMITIVE and t not in self.types):
            obj = local.get("object_type", g.get("object_type")) if t == "object_t" else t
            if obj == "object":
                schema = {"type": "object"}
            else:
                self.object(obj)
                schema = {"$ref": f"#/$defs/{obj}"}
        else:
            primitive = self.primitive(t)
            schema = {} if primitive is None else {"type": primitive}
            if enum and name.endswith("_id"):
                schema["enum"] = sorted(int(k) for k in enum)
        if local.get("is_array", g.get("is_array")):
            schema = {"type": "array", "items": schema}
        return schema

    def closed(self, attrs: dict[str, Any], constraints: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "properties": {k: self.attribute(k, v) for k, v in sorted(attrs.items())},
            "additionalProperties": False,
            "required": sorted(k for k, v in attrs.items() if v.get("requirement") == "required"),
        }
        if "at_least_one" in constraints:
            out["anyOf"] = [{"required": [k]} for k in constraints["at_least_one"]]
        return out

    def object(self, name: str) -> None:
        if name not in self.defs:
            self.defs[name] = {}
            self.defs[name] = self.closed(*self.merged(f"objects/{name}.json"))

    def compliance_finding(self) -> dict[str, Any]:
        body = self.closed(*self.merged("events/findings/compliance_finding.json"))
        body["properties"]["class_uid"] = {"const": 2003}
        body["properties"]["category_uid"] = {"const": 2}
        body["properties"]["type_uid"] = {"enum": [200300, 200301, 200302, 200303, 200399]}
        return {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"ocsf-{self.tag}-compliance-finding",
                "title": f"OCSF {self.tag} Compliance Finding (class_uid 2003), no profiles",
                **body, "$defs": dict(sorted(self.defs.items()))}


def main(argv: list[str]) -> int:
    repo, tag = argv
    json.dump(Compiler(repo, tag).compliance_finding(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
