#!/usr/bin/env python3
"""Validates the deploy files that cannot run here (no Docker engine): every YAML parses, the
dashboard JSON parses, compose services mount files that exist, the Dockerfile is multi-stage,
runs as a non-root user and has a health check, and `cmake --install` installs the binary,
the default config and the systemd unit."""
import glob, json, os, re, subprocess, sys, tempfile
import yaml

deploy, build = sys.argv[1], sys.argv[2]
errors = []
for path in glob.glob(f"{deploy}/**/*.y*ml", recursive=True):
    try:
        yaml.safe_load(open(path))
    except yaml.YAMLError as e:
        errors.append(f"{path}: {e}")
for path in glob.glob(f"{deploy}/**/*.json", recursive=True):
    try:
        json.load(open(path))
    except ValueError as e:
        errors.append(f"{path}: {e}")
compose = yaml.safe_load(open(f"{deploy}/compose.yaml"))
for name in ("mosquitto", "gridwatch", "prometheus", "grafana"):
    if name not in compose["services"]:
        errors.append(f"compose.yaml: no service {name}")
for name, svc in compose["services"].items():
    for v in svc.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith(".") and not os.path.exists(os.path.join(deploy, src)):
            errors.append(f"compose.yaml: {name} mounts missing {src}")
docker = open(f"{deploy}/docker/Dockerfile").read()
if len(re.findall(r"^FROM ", docker, re.M)) < 2: errors.append("Dockerfile: not multi-stage")
if not re.search(r"^USER (?!root)\w+", docker, re.M): errors.append("Dockerfile: runs as root")
if "HEALTHCHECK" not in docker: errors.append("Dockerfile: no HEALTHCHECK")
if not re.search(r"^FROM debian:", docker, re.M): errors.append("Dockerfile: not a Debian base")
with tempfile.TemporaryDirectory() as prefix:
    r = subprocess.run(["cmake", "--install", build, "--prefix", prefix], capture_output=True, text=True)
    if r.returncode != 0:
        errors.append("cmake --install failed: " + r.stderr[-500:])
    for f in ("bin/gridwatch", "etc/gridwatch/gridwatch.yaml", "lib/systemd/system/gridwatch.service"):
        if not os.path.exists(os.path.join(prefix, f)):
            errors.append(f"cmake --install did not install {f}")
for e in errors:
    print("FAIL:", e)
print("deploy files: %s" % ("ok" if not errors else "%d problems" % len(errors)))
sys.exit(1 if errors else 0)
