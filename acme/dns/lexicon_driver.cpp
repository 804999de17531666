// The Python side of the lexicon provider, run with the interpreter of the
// `lexicon` program (see lexicon.cpp). Kept as a string so the binary is
// all there is to install.
#include "acme/dns/lexicon.hpp"

namespace certfleet::acme::dns {

const char* const kLexiconDriver = R"PY(
# certfleet's lexicon driver: one Python process per lexicon provider and
# certfleet run, so the interpreter starts and lexicon is imported once, not
# once per record. certfleet runs it with the interpreter of the `lexicon`
# program (its #! line) as `python -c <this> <lexicon program>`, and speaks
# JSON lines: the settings first, then one request per record; one answer
# line each. Credentials arrive only in the environment
# (LEXICON_<PROVIDER>_AUTH_<NAME>), as for the lexicon command itself.
import functools
import io
import json
import logging
import os
import sys


def answer(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def failure(error, log):
    text = f"{type(error).__name__}: {error}"
    lines = [line for line in log.getvalue().splitlines() if line.strip()]
    return {"ok": False, "error": text, "log": "\n".join(lines[-3:])}


def main():
    # As the lexicon program itself runs: its own folder first on sys.path.
    sys.path.insert(0, os.path.dirname(os.path.realpath(sys.argv[1])))
    log = io.StringIO()
    logging.basicConfig(stream=log, level=logging.WARNING)
    settings = json.loads(sys.stdin.readline())
    try:
        from lexicon import discovery
        from lexicon.client import Client
        from lexicon.config import ConfigResolver
    except Exception as error:  # noqa: BLE001 - any import failure is "missing"
        answer(missing=True, **failure(error, log))
        return
    # Every Client lists the installed providers; once is enough.
    discovery.find_providers = functools.lru_cache(maxsize=None)(discovery.find_providers)
    answer(ok=True)

    providers = {}  # record name -> authenticated lexicon provider

    def provider_for(name):
        if name not in providers:
            options = {
                "provider_name": settings["provider"],
                "action": "list",
                "domain": name,
                "type": "TXT",
                "ttl": settings["ttl"],
                settings["provider"]: settings["options"],
            }
            if settings.get("delegated"):
                options["delegated"] = settings["delegated"]
            client = Client(ConfigResolver().with_dict(options).with_env())
            client.provider.authenticate()
            providers[name] = client.provider
        return providers[name]

    for line in sys.stdin:
        request = json.loads(line)
        log.seek(0)
        log.truncate()
        name = request["name"]
        try:
            provider = provider_for(name)  # authenticates: a read-only zone lookup
            if request["action"] == "check":
                pass
            elif request["action"] == "create":
                provider.create_record("TXT", name, request["content"])
            else:
                provider.delete_record(None, "TXT", name, request["content"])
            answer(ok=True)
        except Exception as error:  # noqa: BLE001 - reported to certfleet, which decides
            providers.pop(name, None)  # authenticate again next time
            answer(**failure(error, log))


main()
)PY";

}  // namespace certfleet::acme::dns
