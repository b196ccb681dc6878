"""Copies the CRDs of the operators the platform installs (cert-manager, External Secrets, CloudNativePG)
out of their Go modules, as plain CustomResourceDefinitions an API server accepts: cert-manager keeps its
CRDs as Helm templates whose labels hold template text, so each CRD's labels and annotations are dropped.

Usage: operator-crds.py OUT_DIR SOURCE_DIR...

Every `*.yaml` document of kind CustomResourceDefinition in a source directory is written to OUT_DIR as
`<crd name>.yaml`.
"""

import pathlib
import sys

import yaml


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for source in sys.argv[2:]:
        for path in sorted(pathlib.Path(source).glob("*.yaml")):
            for document in yaml.safe_load_all(path.read_text()):
                if not document or document.get("kind") != "CustomResourceDefinition":
                    continue
                metadata = document["metadata"]
                metadata.pop("labels", None)
                metadata.pop("annotations", None)
                (out / f"{metadata['name']}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
                count += 1
    if count == 0:
        sys.exit(f"operator-crds: no CRD in {' '.join(sys.argv[2:])}")
    print(f"operator-crds: {count} CRDs in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
