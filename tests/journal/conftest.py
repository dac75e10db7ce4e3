from __future__ import annotations

import sys
from pathlib import Path

# toy_engine and journal_fixtures live next to these tests (also for crash-point subprocesses).
sys.path.insert(0, str(Path(__file__).parent))
