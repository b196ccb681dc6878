"""Writes kubeconform's JSON schemas, one standalone file per kind and version, as kubeconform's
openapi2jsonschema does: from the Kubernetes OpenAPI (swagger) document and from CRD files.

Usage: kube-schemas.py SWAGGER_JSON OUT_DIR CRD_DIR...

Files are named as kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json` template expects:
`namespace-v1.json`, `deployment-apps-v1.json`, `gitrepository-source-v1.json`. Objects that declare
their properties reject unknown ones (strict), unless they preserve unknown fields.
"""

import copy
import json
import pathlib
import sys

import yaml

INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}


def file_name(group, version, kind):
    suffix = "-" + group.split(".")[0].lower() + "-" + version.lower() if group else "-" + version.lower()
    return f"{kind.lower()}{suffix}.json"


def nullable(schema):
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]


def strict(schema):
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        schema["additionalProperties"] = False


def resolve(schema, definitions, seen):
    """Inlines every $ref; a reference back into a definition being inlined accepts anything."""
    if isinstance(schema, list):
        return [resolve(item, definitions, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        if name in seen:
            return {}
        return resolve(definitions[name], definitions, seen | {name})
    if schema.get("format") == "int-or-string" or schema.get("x-kubernetes-int-or-string"):
        return dict(INT_OR_STRING)
    out = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: resolve(item, definitions, seen) for name, item in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, (dict, list)):
            out[key] = resolve(value, definitions, seen)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = resolve(value, definitions, seen)
        else:
            out[key] = value
    strict(out)
    nullable(out)
    return out


def kubernetes(swagger_path, out):
    definitions = json.loads(pathlib.Path(swagger_path).read_text())["definitions"]
    definitions = copy.deepcopy(definitions)
    definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = QUANTITY
    count = 0
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            schema = resolve(definition, definitions, {name})
            schema["$schema"] = "http://json-schema.org/schema#"
            (out / file_name(gvk["group"], gvk["version"], gvk["kind"])).write_text(json.dumps(schema, indent=1))
            count += 1
    return count


def crds(crd_dir, out):
    count = 0
    for path in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            for version in spec["versions"]:
                schema = resolve(version["schema"]["openAPIV3Schema"], {}, set())
                schema["$schema"] = "http://json-schema.org/schema#"
                name = file_name(spec["group"], version["name"], spec["names"]["kind"])
                (out / name).write_text(json.dumps(schema, indent=1))
                count += 1
    return count


def main():
    swagger_path, out_dir, crd_dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    core = kubernetes(swagger_path, out)
    custom = sum(crds(crd_dir, out) for crd_dir in crd_dirs)
    print(f"kube-schemas: {core} Kubernetes and {custom} CRD schemas in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
