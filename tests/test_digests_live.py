import time, signal
import pytest
from tests.worker import LiveWorker

pytestmark = pytest.mark.live_worker


def test_stop(transactional_db, mail_dir):
    w = LiveWorker(mail_dir=mail_dir, extra_env={"LOG_LEVEL": "DEBUG"})
    t = time.monotonic()
    w.start()
    print("start", time.monotonic() - t)
    t = time.monotonic()
    w.process.send_signal(signal.SIGTERM)
    w.process.wait()
    print("stop", time.monotonic() - t)
    w.log.close()
    print(w.output()[-3000:])
