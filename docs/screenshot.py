"""Write docs/explorer.svg: the explorer on the demo model, drawn by Textual's screenshot feature.

Run from the repository root: ``python docs/screenshot.py``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.app_helpers import make_demo_app, settle  # noqa: E402

OUT = Path(__file__).resolve().parent / "explorer.svg"


async def main() -> None:
    app = make_demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"1130", "enter")
        await settle(pilot)
        await pilot.press("j", "j", "a")
        await settle(pilot)
        app.save_screenshot(filename=OUT.name, path=str(OUT.parent))
    app.session.close()
    print(OUT)


if __name__ == "__main__":
    asyncio.run(main())
