"""Extract named collections from PyPI's `ansible` wheel into a collections directory.

Galaxy is not reachable from our machines; the `ansible` wheel carries the same collection
releases, and extracting only the folders we use costs about 2 MB instead of 480 MB.

    python extract_collections.py WHEEL DEST/ansible_collections ansible.posix community.general
"""
import os
import sys
import zipfile


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: extract_collections.py WHEEL DEST NAMESPACE.NAME...")
    wheel, dest = argv[1], argv[2]
    prefixes = ["ansible_collections/%s/" % name.replace(".", "/") for name in argv[3:]]
    found = set()
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            for prefix in prefixes:
                if member.filename.startswith(prefix):
                    found.add(prefix)
                    relative = member.filename[len("ansible_collections/"):]
                    target = os.path.join(dest, relative)
                    if member.is_dir():
                        os.makedirs(target, exist_ok=True)
                        continue
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with archive.open(member) as src, open(target, "wb") as out:
                        out.write(src.read())
    missing = [p for p in prefixes if p not in found]
    if missing:
        sys.exit("not in %s: %s" % (wheel, ", ".join(missing)))


if __name__ == "__main__":
    main(sys.argv)
