"""The simulator as the media server of its rooms: room commands carried out (R7, decision 0023).

``rtc-console simulate --live`` holds ``IngestService.WatchRoomCommands`` open for its app, like a
media server. Every watcher gets every command; :class:`RoomHost` acts on the simulated rooms'
commands only, once per ``command_id``, and answers with the events a media server would report,
at the instant it carried the command out:

- **DismissRoom**: a ``USER_EXITED`` (reason 1, dismissed) of each user inside, then the room's
  ``ROOM_DISMISSED`` with the command's id, which acknowledges the command. The rest of the
  room's current call is not sent (its samples, events and usage): the room stays empty until
  the model's next call in it begins (its ``ROOM_CREATED``).
- **RemoveUsers**: a ``USER_EXITED`` with the command's id of every listed user (reason 0;
  also of a listed user who is not inside: the media server reports them out either way, and
  a removal is acknowledged by the exits of all its users). The rest of each removed user's stay
  in that room is not sent (its records, and its peers' downstream samples of it) until the
  model has it enter the room again.

Who is inside is followed from the room events as the driver sends them (:meth:`RoomHost.keep`,
which also drops the records of dismissed calls and removed users). Pure: no grpc, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import room_control_pb2 as control
from rtcconsole_server.simulate._records import EVENT, Item

__all__ = ["RoomHost"]

Room = int | str
_CREATED, _DISMISSED, _ENTERED, _EXITED = 101, 102, 103, 104
_REASON_DISMISSED = 1


def _room_of(message: object) -> Room | None:
    which = message.WhichOneof("room")  # type: ignore[attr-defined]
    return getattr(message, which) if which else None


class RoomHost:
    """The simulated rooms of one app, who is inside, and the commands carried out."""

    def __init__(self, sdk_app_id: int, rooms: Iterable[Room], *, seed: int) -> None:
        self.sdk_app_id = sdk_app_id
        self._rooms = set(rooms)
        self._seed = seed
        self._inside: dict[Room, set[str]] = {room: set() for room in self._rooms}
        self._dismissed: set[Room] = set()
        """Rooms whose current call was dismissed: their records are dropped until the next call."""
        self._removed: set[tuple[Room, str]] = set()
        """(room, user) removed: the user's records there are dropped until it enters again."""
        self._handled: set[str] = set()
        self.carried_out = 0
        """Commands this host answered."""

    def inside(self, room: Room) -> set[str]:
        """The users in ``room`` as the events sent so far say."""
        return set(self._inside.get(room, ()))

    def keep(self, item: Item) -> bool:
        """Whether to send ``item``; follows who is inside from the room events kept."""
        message = item.message
        room = _room_of(message)
        if room not in self._rooms:
            return True
        user = str(getattr(message, "user_id", ""))
        if item.kind == EVENT:
            kind = int(getattr(message, "type", 0))
            if kind == _CREATED:
                self._dismissed.discard(room)
                self._inside[room].clear()
            if room in self._dismissed:
                return False
            if kind == _ENTERED:
                self._removed.discard((room, user))
            if (room, user) in self._removed:
                return False
            if kind == _ENTERED:
                self._inside[room].add(user)
            elif kind == _EXITED:
                self._inside[room].discard(user)
            elif kind == _DISMISSED:
                self._inside[room].clear()
            return True
        peer = str(getattr(message, "peer_id", ""))
        return room not in self._dismissed and not ({(room, user), (room, peer)} & self._removed)

    def answer(self, command: control.RoomCommand, at: datetime) -> list[pb.RoomEvent]:
        """The events that carry ``command`` out at ``at`` (none: not one of this host's rooms, or
        already carried out)."""
        room = _room_of(command)
        if command.sdk_app_id != self.sdk_app_id or room not in self._rooms:
            return []
        if command.command_id in self._handled:
            return []
        self._handled.add(command.command_id)
        self.carried_out += 1
        events: list[pb.RoomEvent] = []

        def event(type_: int, user: str = "", **extra: object) -> None:
            found = pb.RoomEvent(
                event_id=f"sim{self._seed}-{command.command_id}-{len(events)}",
                sdk_app_id=self.sdk_app_id,
                user_id=user,
                type=type_,  # type: ignore[arg-type]
                **extra,  # type: ignore[arg-type]
            )
            if isinstance(room, int):
                found.room_id = room
            else:
                found.str_room_id = str(room)
            found.event_time.FromDatetime(at)
            events.append(found)

        if command.kind == control.ROOM_COMMAND_KIND_DISMISS_ROOM:
            for user in sorted(self._inside[room]):
                event(_EXITED, user, reason=_REASON_DISMISSED)
            event(_DISMISSED, command_id=command.command_id)
            self._inside[room].clear()
            self._dismissed.add(room)
        elif command.kind == control.ROOM_COMMAND_KIND_REMOVE_USERS:
            for user in command.user_ids:
                event(_EXITED, user, command_id=command.command_id)
                self._inside[room].discard(user)
                self._removed.add((room, user))
        return events
