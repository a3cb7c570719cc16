# Two commands do all set-up on a fresh Debian 12 machine (as root): `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
ROOTFS ?= /var/cache/ivr-pbx/rootfs
SYSTEM_TOOLS := espeak-ng sox ffmpeg mmdebstrap openssl kamailio
export IVR_ASTERISK_ROOTFS ?= $(ROOTFS)

.PHONY: run cluster stop test unit integration demo bench setup system-deps rootfs sounds clean install uninstall translations

run: setup                      ## start Asterisk, the ARI service and the web console (Ctrl-C stops)
	@scripts/run.sh

cluster: setup                  ## PostgreSQL, Kamailio, two Asterisk nodes, two services (config/cluster.yaml)
	@$(PY) -m ivr.cli cluster start

stop:                           ## stop everything `make run`, `make cluster` and `make demo` started
	@if [ -f var/ivr.pid ] && pid=$$(cat var/ivr.pid) && kill -0 $$pid 2>/dev/null; then \
	  kill $$pid; for i in $$(seq 50); do kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; echo "service stopped"; fi
	@$(PY) -m ivr.cli asterisk stop
	@$(PY) -m ivr.cli cluster stop
	@$(PY) scripts/demo.py --stop

# Two workers: integration tests mostly wait on calls, so two Asterisk pairs (nets NET and NET+1) halve
# the wall time; --dist loadfile keeps each module's fixtures on one worker.
PYTEST_WORKERS ?= 2
test: setup                     ## the whole suite, real Asterisk included
	$(PY) -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile tests

unit: .venv/stamp
	$(PY) -m pytest -q tests/unit

integration: setup
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests/integration

demo: setup                     ## simulated callers call the sample plan (starts the service if needed)
	$(PY) scripts/demo.py

# The console's texts: extract them, update ivr/locale/ru/.../messages.po; translate the new entries there
# (they are compiled when the service starts, so nothing else is built).
translations: .venv/stamp
	.venv/bin/pybabel extract -F babel.cfg -k lazy --no-location --sort-output --omit-header -o ivr/locale/messages.pot .
	.venv/bin/pybabel update -i ivr/locale/messages.pot -d ivr/locale -l ru --no-fuzzy-matching --ignore-obsolete

bench: setup                    ## every benchmark -> docs/benchmarks.md (BENCH_ARGS="--quick": a check of the chain)
	$(PY) bench/run_all.py $(BENCH_ARGS)

setup: system-deps .venv/stamp rootfs sounds

system-deps:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v baresip >/dev/null || missing="$$missing baresip-core"; \
	command -v dnsmasq >/dev/null || missing="$$missing dnsmasq-base"; \
	[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/db_postgres.so ] || missing="$$missing kamailio-postgres-modules"; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

.venv/stamp: pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -e '.[test]'
	touch $@

rootfs:
	@scripts/asterisk-rootfs.sh $(ROOTFS)

sounds: .venv/stamp
	@$(PY) -m ivr.cli sounds generate >/dev/null

install: setup                 ## as root: /opt/ivr-pbx, /etc/ivr-pbx, /var/lib/ivr-pbx, systemd units (DESTDIR=, INSTALL_VENV=no)
	$(PY) -m ivr.install install --destdir "$(or $(DESTDIR),/)" $(if $(filter no,$(INSTALL_VENV)),--no-venv)

uninstall:                      ## remove code, units and the ivr command; keeps /etc/ivr-pbx and /var/lib/ivr-pbx
	$(PY) -m ivr.install uninstall --destdir "$(or $(DESTDIR),/)"

clean:
	rm -rf var sounds/generated
