# The registry's two everyday commands:
#   make run   — set up everything, load the demo data, serve on http://127.0.0.1:8000
#   make test  — set up everything, then lint, migration check and the whole test suite
.DEFAULT_GOAL := help
PY := .venv/bin/python
# The Python packages, pinned with their hashes (make lock writes them from pyproject.toml).
LOCKS := requirements.lock requirements-dev.lock
STAMP := .venv/.installed-$(shell cat pyproject.toml $(LOCKS) 2>/dev/null | md5sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help setup system-deps lock run test test-quick lint bench load load-step clean

help:
	@echo "make run    安装依赖、迁移数据库、载入演示数据并启动 http://$(HOST):$(PORT)"
	@echo "make test   安装依赖后运行 ruff、迁移检查和全部测试"
	@echo "make test-quick  开发时的快速测试：不含浏览器测试和生成的遍历测试"
	@echo "make load   季度报送截止时的压力测试（PostgreSQL + Redis + gunicorn，200 个用户 3 分钟）"
	@echo "make load-step  阶梯加压测试：逐级增加用户直到 p95 超过 800 ms 或出现错误，给出最大吞吐"
	@echo "make lock   由 pyproject.toml 重新生成带哈希的依赖锁定文件（UPGRADE=1 全部升级到最新）"

system-deps:
	@bash scripts/system-deps.sh

# Every package from the dev lock, hash-checked, then the project itself without its
# dependencies; pip check fails when pyproject.toml asks for what the locks lack (make lock).
# A changed pyproject.toml or lock file names a new stamp: the next make installs again.
$(STAMP): pyproject.toml $(LOCKS)
	@test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps -e .
	@out=$$($(PY) -m pip check) \
	    || { echo "$$out"; echo "pyproject.toml and the lock files disagree: make lock"; exit 1; }
	@rm -f .venv/.installed-*
	@touch $@

# Write requirements.lock and requirements-dev.lock again from pyproject.toml, keeping the
# pins it still allows; UPGRADE=1 moves every pin to the newest release (scripts/lock.sh).
lock:
	@bash scripts/lock.sh

# Front-end assets come from the npm registry (package-lock.json pins them) and are copied
# into static/vendor/, which is not committed. axe-core stays in node_modules: only the
# browser tests inject it.
VENDOR := static/vendor/.installed-$(shell cat package.json package-lock.json | md5sum | cut -c1-12)

$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@rm -rf static/vendor && mkdir -p static/vendor/echarts static/vendor/tom-select
	cp node_modules/echarts/dist/echarts.min.js static/vendor/echarts/
	cp node_modules/tom-select/dist/js/tom-select.complete.min.js static/vendor/tom-select/
	cp node_modules/tom-select/dist/css/tom-select.min.css static/vendor/tom-select/
	@touch $@

setup: system-deps $(STAMP) $(VENDOR)

# The demo's loading is quiet (its audit lines go to the audit log, not the console); what a
# newcomer needs is printed before the server starts.
# Links in e-mails (password reset, notices) point where this server listens, unless SITE_URL
# is set.
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: setup
	@$(PY) scripts/ensure_database.py
	@$(PY) manage.py migrate --noinput -v 0
	@LOG_LEVEL=WARNING $(PY) manage.py load_demo > /dev/null
	@LOG_LEVEL=WARNING $(PY) manage.py flag_overdue > /dev/null
	@LOG_LEVEL=WARNING $(PY) manage.py send_reminders > /dev/null
	@echo ""
	@echo "改革试点台账已就绪：http://$(HOST):$(PORT)/"
	@echo "演示账号（密码均为 Pilot-Demo-2026）：office 省办  dept/water 牵头部门  hangzhou/ningbo 设区市局"
	@echo "  county 县（市、区）局  expert/expert2 评审专家  auditor 安全审计员  admin 系统管理员"
	@echo "邮件（含找回密码）写入 var/mail/；按 Ctrl-C 停止。"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The suite runs on every core, one pytest-xdist worker each with a test database of its own
# (test_registry_gw0, _gw1 … on PostgreSQL); `--dist load` hands each worker its tests in the
# suite's order. The load test then runs alone: its p95 needs the machine to itself (without
# PostgreSQL and Redis it is skipped).
test: lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n auto --dist load --ignore=tests/load
	$(PY) -m pytest tests/load

# The loop while working: everything but the browser and the generated walks, on every core.
# `make test` (and CI) runs them all.
test-quick:
	$(PY) -m pytest -n auto --dist load --ignore=tests/load -m "not browser and not walk"

bench: setup
	bash bench/run.sh

# The load test at a quarterly deadline (docs/load-test.md): its own database
# (LOAD_DATABASE_URL), gunicorn and locust; ARGS="--users 40 --run-time 45s" for a shorter run.
load: setup
	$(PY) bench/load/run.py $(ARGS)

# The step test (docs/load-test.md): the same mix raised in steps of users until the p95 passes
# 800 ms or errors appear; ARGS="--pilots 3000 --hold 20 --server sync:3 --server sync:5".
load-step: setup
	$(PY) bench/load/step.py $(ARGS)

clean:
	rm -rf .venv node_modules static/vendor db.sqlite3 private var staticfiles .pytest_cache .ruff_cache
