"""Rewrites a LibTorch archive with one tensor record cut short, the way a crafted or damaged
checkpoint would be: the pickle still declares the full storage, the zip (with fresh CRCs) holds
less. Usage: craft_checkpoint.py IN OUT KEY BYTES (the record <archive>/data/KEY keeps BYTES)."""
import sys
import zipfile

source, target, key, keep = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zout:
    cut = False
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename.endswith("/data/" + key):
            data, cut = data[:keep], True
        zout.writestr(info, data)
if not cut:
    sys.exit("no record data/" + key)
