from __future__ import annotations

import sys
from pathlib import Path

# Test-support modules (pacifica_recipe, gateway harness) live next to the tests.
sys.path.insert(0, str(Path(__file__).parent))
