"""The embedded Celery broker: kombu's filesystem transport, with messages that appear whole.

Kombu writes a message straight into the queue folder under its final name, so a worker that
lists the folder between the file's creation and its write takes an empty message and stops
with a JSON error. Here a message is written under a name no reader takes (readers match
`*.<queue>.msg`) and renamed into place once complete; a rename within one folder is atomic.
"""

import os
import time
import uuid
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's filesystem channel already widens its base's signature (the `mandatory` keyword).
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Put `payload` onto `queue`; raises ChannelError when the folder cannot be written."""
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        partial = f"{path}.part"
        try:
            with open(partial, "wb") as f:
                f.write(dumps(payload).encode())
            os.replace(partial, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
