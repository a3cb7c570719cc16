"""The cluster file, and the configuration of the Kamailio edge and of an Asterisk node behind it,
both rendered from the same plan and settings."""
from __future__ import annotations

from pathlib import Path

import pytest

from ivr.asterisk.process import Instance
from ivr.asterisk.render import render_pbx
from ivr.cluster.edge import render_edge
from ivr.cluster.layout import load_layout
from ivr.cluster.lease import applies as leases_apply
from ivr.config import load_settings
from ivr.errors import ConfigError
from ivr.plan.loader import load_plan

PLANS = Path(__file__).parent.parent / "integration" / "plans"
CLUSTER = """\
edge: {address: 127.0.9.1, port: 5060}
database_port: 15999
directory: DIR
nodes:
  - {name: node1, address: 127.0.9.21}
  - {name: node2, address: 127.0.9.22}
instances:
  - {name: svc1, node: node1, web_port: 18901}
  - {name: svc2, node: node2, web_port: 18902}
"""


@pytest.fixture
def layout(tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER.replace("DIR", str(tmp_path / "var")), encoding="utf-8")
    return load_layout(load_settings(env={"IVR_CLUSTER_FILE": str(path)}))


@pytest.fixture
def plan():
    return load_plan(PLANS / "ivr.yaml", secrets_path=PLANS / "secrets.yaml")


def test_each_instance_serves_its_own_node(layout):
    env = layout.instance_env(layout.instances[1])
    assert env["IVR_ARI_URL"] == "http://127.0.9.22:8088"
    assert env["IVR_SIP_ADDRESS"] == "127.0.9.22"
    assert env["IVR_SIP_EDGE"] == "127.0.9.1:5060"
    assert env["IVR_NODE_NAME"] == "node2"
    assert env["IVR_DATABASE_URL"] == "postgresql+asyncpg://postgres@127.0.0.1:15999/ivr"
    assert env["IVR_WEB_PORT"] == "18902"


def test_a_standby_gets_its_own_web_address(tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER + "  - {name: svc1b, node: node1, web_host: 127.0.9.31, web_port: 18901}\n",
                    encoding="utf-8")
    layout = load_layout(load_settings(env={"IVR_CLUSTER_FILE": str(path)}))
    env = layout.instance_env(layout.instances[2])
    assert (env["IVR_WEB_HOST"], env["IVR_PUBLIC_URL"]) == ("127.0.9.31", "http://127.0.9.31:18901")
    assert env["IVR_ARI_URL"] == "http://127.0.9.21:8088"
    assert leases_apply(load_settings(env={**env, "IVR_CLUSTER_FILE": str(path)}))
    # one node on SQLite (make run) takes no lease
    assert not leases_apply(load_settings(env={"IVR_NODE_NAME": "node1"}))


@pytest.mark.parametrize("change, message", [
    (("database_port: 15999", "database_port: x"), "database_port: expected a whole number, got 'x'"),
    (("node: node2", "node: node3"), "instances[1].node: 'node3' is not a node (node1, node2)"),
    (("web_port: 18902", "port: 18902"), "instances[1].web_port: expected a whole number, got None"),
    (("name: node2, address: 127.0.9.22", "name: node1, address: 127.0.9.22"), "names must be unique"),
    (("directory:", "dir:"), "unknown key(s): dir"),
])
def test_a_bad_cluster_file_names_the_field(tmp_path, change, message):
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER.replace(*change), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_layout(load_settings(env={"IVR_CLUSTER_FILE": str(path)}))
    assert str(path) in e.value.message and message in e.value.message


def test_edge_identifies_trunks_and_knows_phones_and_nodes(layout, plan):
    edge = render_edge(plan, layout, "postgres://postgres@127.0.0.1:15999/kamailio")
    config = edge.config.read_text()
    assert "listen=udp:127.0.9.1:5060" in config
    assert 'if ($si == "127.0.20.11") {\n\t\tappend_hf("X-IVR-Trunk: default\\r\\n");' in config
    assert f'$var(password) = "{plan.staff["101"].password}";' in config
    assert 'if ($rd == "127.0.20.11") {\n\t\troute(RELAY);' in config   # nodes call out to carriers only
    assert 'modparam("usrloc", "db_mode", 1)' in config
    assert edge.config.stat().st_mode & 0o077 == 0          # phones' passwords: owner only
    assert edge.dispatcher_list.read_text().splitlines()[1:] == [
        "1 sip:127.0.9.21:5060 0 0 duid=node1", "1 sip:127.0.9.22:5060 0 0 duid=node2"]
    edge.check()                                              # Kamailio's own parser accepts it


def test_edge_without_database_keeps_locations_in_memory(layout, plan):
    config = render_edge(plan, layout).config.read_text()
    assert 'modparam("usrloc", "db_mode", 0)' in config and "db_postgres" not in config


def test_node_behind_the_edge(layout, plan, tmp_path):
    node = layout.nodes[0]
    settings = load_settings(env=layout.node_env(node))
    instance = Instance(node.name, layout.node_dir(node), Path(settings.asterisk_rootfs))
    render_pbx(settings, plan, instance)
    pjsip = (instance.etc / "pjsip.conf").read_text()
    assert "bind = 127.0.9.21:5060" in pjsip
    assert "match_header = X-IVR-Trunk: default" in pjsip and "match = 127.0.20.11" not in pjsip
    assert "outbound_proxy = sip:127.0.9.1:5060\\;lr" in pjsip      # calls to carriers too
    assert "contact = sip:101@127.0.9.1:5060" in pjsip           # phones are reached through the edge
    assert "match_header = X-IVR-Phone: 101" in pjsip
    assert "auth = 101\n" not in pjsip                           # the edge authenticated the phone
    assert "systemname = node1" in (instance.etc / "asterisk.conf").read_text()


def test_single_node_is_unchanged(plan, tmp_path):
    settings = load_settings(env={})
    instance = Instance("pbx", tmp_path / "pbx", Path(settings.asterisk_rootfs))
    render_pbx(settings, plan, instance)
    pjsip = (instance.etc / "pjsip.conf").read_text()
    assert "match = 127.0.20.11" in pjsip and "auth = 101\n" in pjsip and "X-IVR" not in pjsip
    assert "systemname" not in (instance.etc / "asterisk.conf").read_text()
