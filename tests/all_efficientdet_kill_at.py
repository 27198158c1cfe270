r"""//eval:all_efficientdet, SIGKILLed at a chosen stage: how the tests interrupt a sweep.

  all_efficientdet_kill_at --kill_at=inference_done:d1 <all_efficientdet flags>

The kill is a stage observer injected through all_efficientdet.run(); the product's own code
path has no test hook.
"""
import os
import signal
import sys

from absl import app
from absl import flags
from absl import logging

from eval import all_efficientdet
from eval.sweep import runner

_KILL_AT = flags.DEFINE_string("kill_at", None,
                               f"<stage>:<model key>, stage one of {', '.join(runner.STAGES)}.",
                               required=True)


def _kill_at(stage: str, key: str) -> None:
  if _KILL_AT.value == f"{stage}:{key}":
    logging.warning("--kill_at=%s: killing this process (SIGKILL)", _KILL_AT.value)
    logging.flush()
    sys.stderr.flush()
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv):
  all_efficientdet.run(argv, observers=[_kill_at])


if __name__ == "__main__":
  app.run(main)
