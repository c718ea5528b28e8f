#!/usr/bin/env python3
"""A Canvas client that knows only Canvas's public API documentation, written with the Python
standard library (urllib, no pip packages), run against a sandbox:

    python3 tests/client.py BASE_URL TOKEN

It creates a SIS import from a small zip (multipart body built by hand), polls it until it is
imported, reads users, courses and enrollments back, pages through a list by following the
Link header, downloads an uploaded CSV from csv_attachments, and drives the throttle until it
answers 429, then checks that it recovers. Every step asserts what the documentation promises;
the first failure ends the script with a non-zero status and a message saying which step.
"""

import io
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile

STUDENTS = 25  # more than two default pages (per_page 10), so paging is exercised


def request(base, token, method, path, body=None, headers=None):
    """One HTTP request; returns (status, headers, body bytes). Non-2xx is not an exception."""
    url = path if path.startswith("http") else base + path
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(base, token, path):
    status, headers, body = request(base, token, "GET", path)
    assert status == 200, f"GET {path}: HTTP {status}: {body[:300]!r}"
    return json.loads(body), headers


def multipart(fields, files):
    """multipart/form-data by hand: fields are (name, value), files (name, filename, bytes)."""
    boundary = "----rosterbridge" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields:
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, filename, data in files:
        out.write(f"--{boundary}\r\n".encode())
        out.write(
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
        )
        out.write(b"Content-Type: application/zip\r\n\r\n")
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), "multipart/form-data; boundary=" + boundary


def links(headers):
    """Canvas's Link header: '<url>; rel="next",<url>; rel="first"' -> {rel: url}."""
    out = {}
    for part in (headers.get("Link") or "").split(","):
        if ";" not in part:
            continue
        url, rel = part.split(";", 1)
        rel = rel.strip()
        if rel.startswith("rel="):
            out[rel[4:].strip('"')] = url.strip().strip("<>")
    return out


def roster():
    users = "user_id,login_id,first_name,last_name,email,status\n"
    users += "T1,teacher1,Tea,Cher,t1@example.org,active\n"
    for i in range(STUDENTS):
        users += f"S{i:03},s{i:03},Stu{i},Dent,s{i}@example.org,active\n"
    courses = "course_id,short_name,long_name,status\nC1,C1,Course One,active\n"
    sections = "section_id,course_id,name,status\nS1,C1,Section One,active\n"
    enrollments = "course_id,section_id,user_id,role,status\nC1,S1,T1,teacher,active\n"
    for i in range(STUDENTS):
        enrollments += f"C1,S1,S{i:03},student,active\n"
    return {
        "users.csv": users,
        "courses.csv": courses,
        "sections.csv": sections,
        "enrollments.csv": enrollments,
    }


def step(message):
    print("ok:", message, flush=True)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: client.py BASE_URL TOKEN")
    base, token = sys.argv[1].rstrip("/"), sys.argv[2]

    # Unauthenticated calls are refused the documented way.
    status, headers, _ = request(base, None, "GET", "/api/v1/accounts/1")
    assert status == 401, f"no token: HTTP {status}"
    assert headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(headers)
    me, _ = get_json(base, token, "/api/v1/users/self")
    step(f"token belongs to user {me['id']} ({me['name']})")

    # 1. Create a SIS import from a zip, posted as multipart 'attachment'.
    files = roster()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    body, content_type = multipart(
        [("import_type", "instructure_csv")], [("attachment", "roster.zip", buf.getvalue())]
    )
    status, _, raw = request(
        base, token, "POST", "/api/v1/accounts/1/sis_imports", body,
        {"Content-Type": content_type},
    )
    assert status == 200, f"create import: HTTP {status}: {raw[:300]!r}"
    created = json.loads(raw)
    import_id = created["id"]
    assert created["workflow_state"] in ("created", "importing", "imported"), created
    step(f"SIS import {import_id} created ({created['workflow_state']})")

    # 2. Poll until it reaches a final state.
    final = ("imported", "imported_with_messages", "failed", "failed_with_messages", "aborted")
    deadline = time.time() + 60
    while True:
        imp, _ = get_json(base, token, f"/api/v1/accounts/1/sis_imports/{import_id}")
        if imp["workflow_state"] in final:
            break
        assert time.time() < deadline, f"import stuck in {imp['workflow_state']}"
        time.sleep(0.1)
    assert imp["workflow_state"] == "imported", json.dumps(imp)[:1000]
    assert imp["progress"] == 100, imp["progress"]
    counts = imp["data"]["counts"]
    assert counts["users"] == STUDENTS + 1, counts
    assert counts["enrollments"] == STUDENTS + 1, counts
    assert imp["user"]["id"] == me["id"], imp.get("user")
    step(f"import {import_id} imported: {counts['users']} users, {counts['enrollments']} enrollments")

    # The uploaded CSVs can be downloaded from csv_attachments.
    atts = {a["display_name"]: a for a in imp["csv_attachments"]}
    assert set(atts) == set(files), sorted(atts)
    status, _, raw = request(base, None, "GET", atts["courses.csv"]["url"])
    assert status == 200 and raw.decode() == files["courses.csv"], (status, raw[:200])
    step("csv_attachments download the uploaded files")

    # 3. Read back users, courses and enrollments (SIS ids in paths, URL-encoded).
    teacher, _ = get_json(base, token, "/api/v1/users/sis_user_id:T1")
    assert teacher["name"] == "Tea Cher" and teacher["login_id"] == "teacher1", teacher
    course, _ = get_json(base, token, "/api/v1/courses/sis_course_id:C1")
    assert course["name"] == "Course One", course
    assert course["workflow_state"] == "unpublished", course["workflow_state"]
    courses, _ = get_json(base, token, "/api/v1/accounts/1/courses")
    assert [c["sis_course_id"] for c in courses] == ["C1"], courses
    sections, _ = get_json(base, token, f"/api/v1/courses/{course['id']}/sections")
    assert [s["sis_section_id"] for s in sections] == ["S1"], sections
    step("user, course and section read back by SIS id")

    # 4. Page through the course's enrollments by following Link rel="next" only.
    url = f"/api/v1/courses/{course['id']}/enrollments?per_page=10"
    seen, pages = [], 0
    while url:
        page, headers = get_json(base, token, url)
        pages += 1
        assert len(page) <= 10, len(page)
        seen.extend(e["id"] for e in page)
        url = links(headers).get("next")
        assert pages < 20, "Link rel=next never ends"
    assert len(seen) == STUDENTS + 1 and len(set(seen)) == len(seen), seen
    assert pages == 3, pages
    page, _ = get_json(
        base, token,
        f"/api/v1/courses/{course['id']}/enrollments?type[]=StudentEnrollment&per_page=100",
    )
    assert len(page) == STUDENTS and all(e["enrollment_state"] == "active" for e in page)
    step(f"{len(seen)} enrollments over {pages} pages via the Link header")

    # 5. Drive the throttle until it answers 429, then back off and recover.
    remaining = []
    for n in range(2000):
        status, headers, raw = request(base, token, "GET", "/api/v1/accounts/1")
        if status == 429 or (status == 403 and b"Rate Limit Exceeded" in raw):
            assert headers.get("X-Rate-Limit-Remaining") == "0.0", dict(headers)
            break
        assert status == 200, f"HTTP {status}"
        remaining.append(float(headers["X-Rate-Limit-Remaining"]))
    else:
        raise AssertionError("never throttled after 2000 requests")
    assert status == 429, status
    assert remaining and remaining[-1] < remaining[0], remaining[:5]
    step(f"throttled (429) after {n} requests; X-Rate-Limit-Remaining went "
         f"{remaining[0]:.1f} -> {remaining[-1]:.1f}")
    for _ in range(50):
        time.sleep(0.2)  # the bucket leaks; a patient client gets through again
        status, _, _ = request(base, token, "GET", "/api/v1/accounts/1")
        if status == 200:
            break
    assert status == 200, f"still throttled: HTTP {status}"
    step("recovered after backing off")
    print("all steps passed")


if __name__ == "__main__":
    main()
