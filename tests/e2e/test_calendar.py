"""Calendar feeds (RFC 5545): each member's secret feed of their bookings,
the studio's feed of its classes, rotation of the secret, and GET /me; and
the dashboard's waitlist numbers (joining the line, a promotion, leaving it,
and rebuild-projections).

Every feed goes through a strict iCalendar parser written here: CRLF line
endings, unfolding, no physical line over 75 octets, balanced BEGIN/END,
VERSION and PRODID in the VCALENDAR, UID, DTSTAMP and DTSTART in each VEVENT.
"""

import datetime
import re
import subprocess
import unittest

from harness import StudioTestCase, base_env, binary_path, eventually, iso, now_utc

DAY = datetime.timedelta(days=1)
ICS = "text/calendar"
CONTENT_LINE = re.compile(
    r'^([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)'
    r'(?:,(?:"[^"]*"|[^";:,]*))*)*):(.*)$')
UTC_TIME = re.compile(r"^\d{8}T\d{6}Z$")
TEXT_VALUE = re.compile(r"^(?:[^\\;,\x00-\x08\x0a-\x1f\x7f]|\\[\\;,nN])*$")
TEXT_PROPS = ("SUMMARY", "LOCATION", "DESCRIPTION", "X-WR-CALNAME")


def unescape(v):
    return re.sub(r"\\([\\;,nN])",
                  lambda m: "\n" if m.group(1) in "nN" else m.group(1), v)


def parse_ics(tc, body):
    """Parse an iCalendar stream strictly; returns the VCALENDAR as
    {"props": {NAME: value}, "events": [{NAME: value}, ...]} (TEXT values
    unescaped). Fails tc on any deviation."""
    tc.assertTrue(body.endswith(b"\r\n"), "the stream ends in CRLF")
    physical = body[:-2].split(b"\r\n")
    logical = []
    for i, line in enumerate(physical):
        tc.assertNotIn(b"\n", line, "bare LF in line %d: %r" % (i, line))
        tc.assertNotIn(b"\r", line, "bare CR in line %d: %r" % (i, line))
        tc.assertLessEqual(len(line), 75, "line %d has %d octets" % (i, len(line)))
        line.decode("utf-8")            # strict: no sequence split by a fold
        if line[:1] in (b" ", b"\t"):
            tc.assertTrue(logical, "a continuation line first")
            logical[-1] += line[1:]
        else:
            tc.assertTrue(line, "an empty line %d" % i)
            logical.append(line)
    stack, calendars = [], []
    for raw in logical:
        text = raw.decode("utf-8")
        m = CONTENT_LINE.match(text)
        tc.assertIsNotNone(m, "not a content line: %r" % text)
        name, value = m.group(1).upper(), m.group(3)
        if name == "BEGIN":
            comp = {"name": value, "props": {}, "events": []}
            if stack:
                tc.assertEqual((stack[-1]["name"], value), ("VCALENDAR", "VEVENT"))
                stack[-1]["events"].append(comp)
            else:
                tc.assertEqual(value, "VCALENDAR")
                calendars.append(comp)
            stack.append(comp)
        elif name == "END":
            tc.assertTrue(stack, "END:%s without BEGIN" % value)
            tc.assertEqual(stack.pop()["name"], value, "BEGIN/END nesting")
        else:
            tc.assertTrue(stack, "a property outside any component: %r" % text)
            props = stack[-1]["props"]
            tc.assertNotIn(name, props, "%s twice in %s" % (name, stack[-1]["name"]))
            if name in TEXT_PROPS:
                tc.assertRegex(value, TEXT_VALUE, "an escaped TEXT value")
                value = unescape(value)
            props[name] = value
    tc.assertEqual(stack, [], "every BEGIN has its END")
    tc.assertEqual(len(calendars), 1, "one VCALENDAR")
    cal = calendars[0]
    tc.assertEqual(cal["props"].get("VERSION"), "2.0")
    tc.assertTrue(cal["props"].get("PRODID"))
    events = []
    for ev in cal["events"]:
        p = ev["props"]
        for k in ("UID", "DTSTAMP", "DTSTART"):
            tc.assertIn(k, p, "%s in a VEVENT: %r" % (k, p))
        for k in ("DTSTAMP", "DTSTART", "DTEND"):
            tc.assertRegex(p.get(k, "20000101T000000Z"), UTC_TIME)
        tc.assertLess(p["DTSTART"], p["DTEND"])
        tc.assertIn(p.get("STATUS"), ("CONFIRMED", "CANCELLED"))
        events.append(p)
    tc.assertEqual(len({e["UID"] for e in events}), len(events), "UIDs are unique")
    return {"props": cal["props"], "events": events}


def ics_time(dt_text):
    """The server's RFC 3339 UTC time as an iCalendar UTC DATE-TIME."""
    return dt_text.replace("-", "").replace(":", "")


class CalendarTest(StudioTestCase):
    server_per_test = True

    def feed(self, path, status=200):
        r = self.srv.request("GET", path)
        if status != 200:
            self.assertProblem(r, status, "not_found")
            return r
        self.assertStatus(r, 200)
        self.assertEqual(r.content_type, ICS)
        self.assertIn("charset=utf-8", r.headers.get("Content-Type").lower())
        return parse_ics(self, r.body)

    def my_url(self, member):
        def check():
            r = self.srv.request("GET", "/me", token=member["token"])
            self.assertStatus(r, 200)
            url = r.json["member"].get("calendar_url")
            self.assertRegex(url or "", r"^/api/v1/calendar/members/%d\?key=[0-9a-f]{64}$"
                             % member["id"])
            return url
        return eventually(check)

    def events_by_uid(self, path):
        return {e["UID"]: e for e in self.feed(path)["events"]}

    def test_member_feed_follows_bookings(self):
        srv = self.srv
        # A title that needs escaping and, with multi-octet characters, folding.
        title = ("Yin, slow; deep \\ stretch \u2014 Ana's \u00fcber-ruhige Stunde "
                 "\u2600\u2600 am See, f\u00fcr alle K\u00f6rper \u2600")
        cls = srv.make_class(title, capacity=1, starts_in=2 * DAY, instructor="Ana")
        a, b = srv.make_member(), srv.make_member()
        url_a, url_b = self.my_url(a), self.my_url(b)
        r = srv.request("GET", "/me/calendar", token=a["token"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"url": url_a})
        self.assertEqual(self.feed(url_a)["events"], [])

        # A's booking is in A's feed, confirmed, with the class's times.
        rid = self.assertBooked(srv.book(a["token"], cls["id"]), cls["id"], a)
        ev = self.events_by_uid(url_a)["reservation-%d@studiod" % rid]
        self.assertEqual((ev["SUMMARY"], ev["STATUS"]), (title, "CONFIRMED"))
        self.assertIn(b"\r\n ", srv.request("GET", url_a).body, "the title is folded")
        self.assertEqual((ev["DTSTART"], ev["DTEND"]),
                         (ics_time(cls["starts_at"]), ics_time(cls["ends_at"])))
        seq = int(ev["SEQUENCE"])
        # B is turned away (full): a rejected booking never shows.
        self.assertRejected(srv.book(b["token"], cls["id"]), "class_full", cls["id"], b)
        self.assertEqual(self.feed(url_b)["events"], [])

        # Keys open their own feed only; every miss is the same 404.
        key_a, key_b = url_a.split("key=")[1], url_b.split("key=")[1]
        misses = ["/api/v1/calendar/members/%d?key=%s" % (a["id"], key_b),
                  "/api/v1/calendar/members/%d?key=%s" % (b["id"], key_a),
                  "/api/v1/calendar/members/%d" % a["id"],
                  "/api/v1/calendar/members/%d?key=" % a["id"],
                  "/api/v1/calendar/members/%d?key=%s" % (a["id"], key_a[:-1]),
                  "/api/v1/calendar/members/%d?key=%s" % (a["id"], key_a.upper()),
                  "/api/v1/calendar/members/999999?key=%s" % key_a,
                  "/api/v1/calendar/studio?key=%s" % key_a]
        details = {self.feed(path, 404).json["detail"] for path in misses}
        self.assertEqual(len(details), 1, details)

        # The studio renames the class: the booking follows, SEQUENCE up.
        self.assertStatus(srv.admin("PATCH", "/classes/%d" % cls["id"],
                                    {"title": "Yin"}), 200)
        ev = self.events_by_uid(url_a)["reservation-%d@studiod" % rid]
        self.assertEqual(ev["SUMMARY"], "Yin")
        self.assertGreater(int(ev["SEQUENCE"]), seq)
        seq = int(ev["SEQUENCE"])
        # A cancels: the event stays, cancelled, with a higher SEQUENCE.
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % rid,
                                      token=a["token"]), 200)
        ev = self.events_by_uid(url_a)["reservation-%d@studiod" % rid]
        self.assertEqual(ev["STATUS"], "CANCELLED")
        self.assertGreater(int(ev["SEQUENCE"]), seq)

    def test_seat_and_room_locations(self):
        srv = self.srv
        a = srv.make_member()
        url = self.my_url(a)
        seated = srv.make_class("Stage", capacity=2, seats=["A1", "A2"])
        self.assertBooked(srv.book(a["token"], seated["id"], seat="A2"), seated["id"], a)
        room = srv.admin("POST", "/rooms", {"name": "Studio B"})
        self.assertStatus(room, 201)
        base = now_utc().replace(minute=0, second=0) + 3 * DAY
        r = srv.request("POST", "/reservations", {
            "room_id": room.json["id"], "starts_at": iso(base),
            "ends_at": iso(base + datetime.timedelta(minutes=90))}, token=a["token"])
        self.assertStatus(r, 201)
        events = self.events_by_uid(url)
        self.assertEqual(len(events), 2)
        self.assertEqual(events["reservation-%d@studiod" % r.json["id"]]["LOCATION"],
                         "Studio B")
        locations = sorted(e.get("LOCATION") for e in events.values())
        self.assertEqual(locations, ["Seat A2", "Studio B"])

    def test_rotation(self):
        srv = self.srv
        a = srv.make_member()
        old = self.my_url(a)
        r = srv.request("POST", "/me/calendar/rotate", token=a["token"])
        self.assertStatus(r, 200)
        new = r.json["url"]
        self.assertNotEqual(new, old)
        self.assertRegex(new, r"^/api/v1/calendar/members/%d\?key=[0-9a-f]{64}$" % a["id"])
        self.feed(old, 404)
        self.feed(new)
        eventually(lambda: self.assertEqual(self.my_url(a), new))
        self.assertEqual(srv.request("GET", "/me/calendar", token=a["token"]).json,
                         {"url": new})
        # The studio's feed: the admin's URL, rotated the same way.
        r = srv.admin("GET", "/me/calendar")
        self.assertStatus(r, 200)
        studio = r.json["url"]
        self.assertRegex(studio, r"^/api/v1/calendar/studio\?key=[0-9a-f]{64}$")
        self.feed(studio)
        r = srv.admin("POST", "/me/calendar/rotate")
        self.assertStatus(r, 200)
        self.feed(studio, 404)
        self.feed(r.json["url"])
        # Without a token: 401.
        self.assertStatus(srv.request("POST", "/me/calendar/rotate"), 401)
        self.assertStatus(srv.request("GET", "/me/calendar"), 401)

    def test_studio_feed_lists_classes(self):
        srv = self.srv
        c1 = srv.make_class("Morning Yoga", starts_in=DAY, instructor="Ana")
        c2 = srv.make_class("Evening Flow", starts_in=2 * DAY)
        studio = srv.admin("GET", "/me/calendar").json["url"]
        cal = self.feed(studio)
        self.assertEqual(cal["props"]["X-WR-CALNAME"], "Studio classes")
        events = {e["UID"]: e for e in cal["events"]}
        self.assertEqual(sorted(events), sorted(["class-%d@studiod" % c1["id"],
                                                 "class-%d@studiod" % c2["id"]]))
        e1 = events["class-%d@studiod" % c1["id"]]
        self.assertEqual((e1["SUMMARY"], e1["STATUS"], e1["DESCRIPTION"]),
                         ("Morning Yoga", "CONFIRMED", "Instructor: Ana"))
        self.assertEqual(e1["DTSTART"], ics_time(c1["starts_at"]))
        # In order of the start.
        self.assertEqual([e["UID"] for e in cal["events"]],
                         ["class-%d@studiod" % c1["id"], "class-%d@studiod" % c2["id"]])
        seq = int(events["class-%d@studiod" % c2["id"]]["SEQUENCE"])
        self.assertStatus(srv.admin("DELETE", "/classes/%d" % c2["id"]), 200)
        e2 = self.events_by_uid(studio)["class-%d@studiod" % c2["id"]]
        self.assertEqual(e2["STATUS"], "CANCELLED")
        self.assertGreater(int(e2["SEQUENCE"]), seq)
        # A member's key does not open the studio's feed.
        m = srv.make_member()
        key = self.my_url(m).split("key=")[1]
        self.feed("/api/v1/calendar/studio?key=%s" % key, 404)


class DashboardWaitlistTest(StudioTestCase):
    server_per_test = True

    def waitlist(self, cid):
        dash = self.srv.admin("GET", "/dashboard").json
        row = [c for c in dash["classes"] if c["class_id"] == cid][0]
        return row["waitlist"], row["booked"], dash["totals"]["waitlist"]

    def expect(self, cid, waiting, booked):
        def check():
            self.assertEqual(self.waitlist(cid), (waiting, booked, waiting))
            self.assertEqual(self.srv.get_class(cid)["waitlist"], waiting)
        eventually(check)

    def test_join_promotion_leave_and_rebuild(self):
        srv = self.srv
        cid = srv.make_class(capacity=1)["id"]
        m = [srv.make_member() for _ in range(4)]
        r0 = self.assertBooked(srv.book(m[0]["token"], cid), cid, m[0])
        self.expect(cid, 0, 1)
        w = []
        for i in (1, 2, 3):
            r = srv.book(m[i]["token"], cid, waitlist=True)
            self.assertStatus(r, 202)
            w.append(r.json["id"])
        self.expect(cid, 3, 1)
        # A place frees up: the first in line is promoted, one fewer waits.
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % r0,
                                      token=m[0]["token"]), 200)
        self.expect(cid, 2, 1)
        # Leaving the line, and cancelling it again: counted once.
        for _ in range(2):
            self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % w[2],
                                          token=m[3]["token"]), 200)
        self.expect(cid, 1, 1)
        # The promoted one cancels: the last in line moves up; nobody waits.
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % w[0],
                                      token=m[1]["token"]), 200)
        self.expect(cid, 0, 1)
        # One more joins; rebuild-projections reproduces the figures.
        self.assertStatus(srv.book(m[0]["token"], cid, waitlist=True), 202)
        self.expect(cid, 1, 1)
        srv.stop()
        env = base_env()
        env["STUDIOD_DATABASE_PATH"] = srv.db_path
        con = __import__("sqlite3").connect(srv.db_path)
        con.execute("UPDATE dashboard_classes SET waitlist = 42")
        con.commit()
        con.close()
        p = subprocess.run([binary_path(), "rebuild-projections"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        srv.start()
        self.expect(cid, 1, 1)


if __name__ == "__main__":
    unittest.main()
