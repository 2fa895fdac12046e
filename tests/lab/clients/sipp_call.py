#!/usr/bin/env python
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real SIP phone for the lab, driven by sipp (Debian sip-tester):

    sipp_call.py call PBX_IP LOCAL_IP PORT USER SECRET NUMBER HOLD_MS
        INVITE NUMBER as USER (digest auth on the 401 challenge); on 200 OK
        ACK, stay in the call up to HOLD_MS (answering a BYE from the PBX
        with 200 OK) or send BYE; on 403/486/404/480/503 ACK and stop.
    sipp_call.py register PBX_IP LOCAL_IP PORT USER SECRET CONTACT_PORT EXPIRES
        REGISTER USER with the contact LOCAL_IP:CONTACT_PORT.
    sipp_call.py anon PBX_IP LOCAL_IP PORT USER - NUMBER HOLD_MS
        INVITE NUMBER as USER without credentials (an unauthenticated caller:
        a challenge is not answered); a 200 OK is ACKed and hung up after
        HOLD_MS. ``answer`` is the final response to that INVITE.
    sipp_call.py answer PBX_IP LOCAL_IP PORT USER - - TIMEOUT
        A phone at LOCAL_IP:PORT answering one call (200 OK, re-INVITEs
        answered) until the caller's BYE; gives up after TIMEOUT seconds.

Prints one JSON line read from sipp's own message trace: the final answer
to the (authenticated) request, whether the PBX sent the BYE, and the
seconds from 200 OK to that BYE (time stamps of the trace)."""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SDP = """v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""

CALL = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="pbxguard lab call">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]lab[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:@USER@@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

@SDP@
]]></send>
  <recv response="100" optional="true"/>
  <recv response="401" auth="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]lab[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:@USER@@[local_ip]:[local_port]>
[authentication username=@USER@ password=@SECRET@]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

@SDP@
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="401" optional="true" next="refused"/>
  <recv response="407" optional="true" next="refused"/>
  <recv response="403" optional="true" next="refused"/>
  <recv response="404" optional="true" next="refused"/>
  <recv response="480" optional="true" next="refused"/>
  <recv response="484" optional="true" next="refused"/>
  <recv response="486" optional="true" next="refused"/>
  <recv response="503" optional="true" next="refused"/>
  <recv response="200" rrs="true">
    <!-- the dialog's To (with the PBX's tag): a re-INVITE later is the last message, not this -->
    <action><ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="to"/></action>
  </recv>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]lab[call_number]
To: [$to]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <label id="incall"/>
  <!-- sipp takes the wait's timeout from the first of a group of receives -->
  <recv request="INVITE" optional="true" next="reinvite" timeout="@HOLD@" ontimeout="hangup"/>
  <recv request="BYE" timeout="@HOLD@" ontimeout="hangup"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <nop next="end"/>
  <label id="hangup"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]lab[call_number]
To: [$to]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <nop next="end"/>
  <label id="reinvite"/>
@REINVITE@
  <nop next="incall"/>
  <label id="refused"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <label id="end"/>
</scenario>
"""

ANON = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="pbxguard lab unauthenticated call">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]lab[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:@USER@@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

@SDP@
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="401" optional="true" next="refused"/>
  <recv response="407" optional="true" next="refused"/>
  <recv response="403" optional="true" next="refused"/>
  <recv response="404" optional="true" next="refused"/>
  <recv response="480" optional="true" next="refused"/>
  <recv response="484" optional="true" next="refused"/>
  <recv response="486" optional="true" next="refused"/>
  <recv response="488" optional="true" next="refused"/>
  <recv response="503" optional="true" next="refused"/>
  <recv response="200" rrs="true">
    <action><ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="to"/></action>
  </recv>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]lab[call_number]
To: [$to]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause milliseconds="@HOLD@"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]lab[call_number]
To: [$to]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <nop next="end"/>
  <label id="refused"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <label id="end"/>
</scenario>
"""

REINVITE = """  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:@USER@@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

@SDP@
]]></send>
  <recv request="ACK"/>"""

ANSWER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="pbxguard lab phone answering">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]ans[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:@USER@@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

@SDP@
]]></send>
  <recv request="ACK"/>
  <label id="incall"/>
  <recv request="INVITE" optional="true" next="reinvite"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <nop next="end"/>
  <label id="reinvite"/>
@REINVITE@
  <nop next="incall"/>
  <label id="end"/>
</scenario>
"""

REGISTER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="pbxguard lab register">
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:@USER@@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:@USER@@[local_ip]:@CONTACT@>
Expires: @EXPIRES@
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@USER@@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:@USER@@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:@USER@@[local_ip]:@CONTACT@>
[authentication username=@USER@ password=@SECRET@]
Expires: @EXPIRES@
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""

STAMP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+)")


def parse_trace(path):
    """[(time, 'sent'|'received', first line, text)] of sipp's -trace_msg file."""
    msgs = []
    if not os.path.exists(path):
        return msgs
    block, when = [], None
    for line in open(path, errors="replace").read().splitlines() + ["-" * 30 + " 1970-01-01 00:00:00.0"]:
        m = STAMP.match(line)
        if m:
            if block and when:
                text = "\n".join(block)
                kind = "received" if "message received" in text else "sent"
                first = next((ln.strip() for ln in block if re.match(r"^\s*(SIP/2\.0 \d|[A-Z]+ sip:)", ln)), "")
                msgs.append((when, kind, first, text))
            when = datetime.datetime.strptime(m.group(1).split(".")[0], "%Y-%m-%d %H:%M:%S").timestamp() + \
                float("0." + m.group(1).split(".")[1])
            block = []
        else:
            block.append(line)
    return msgs


def run(kind, pbx, local_ip, port, user, secret, arg1, arg2, timeout=90):
    d = os.environ.get("SIPP_DIR") or tempfile.mkdtemp(prefix="pbxguard-sipp-")
    scen = os.path.join(d, "s.xml")
    trace = os.path.join(d, "messages.log")
    if kind == "call":
        text = CALL.replace("@REINVITE@", REINVITE).replace("@SDP@", SDP).replace("@HOLD@", str(int(arg2)))
        service = arg1
    elif kind == "anon":
        text = ANON.replace("@SDP@", SDP).replace("@HOLD@", str(int(arg2)))
        service = arg1
    elif kind == "answer":
        text = ANSWER.replace("@REINVITE@", REINVITE).replace("@SDP@", SDP)
        service = user
    else:
        text = REGISTER.replace("@CONTACT@", str(arg1)).replace("@EXPIRES@", str(arg2))
        service = user
    text = text.replace("@USER@", user).replace("@SECRET@", secret)
    with open(scen, "w") as f:
        f.write(text)
    if kind == "answer":
        timeout = int(arg2)
    cmd = ["sipp", pbx + ":5060", "-sf", scen, "-s", service, "-i", local_ip, "-p", str(port),
           "-mp", str(int(port) + 1000), "-m", "1", "-l", "1", "-nostdin", "-timeout", "%ds" % timeout,
           "-timeout_error", "-trace_msg", "-message_file", trace, "-max_recv_loops", "1000"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30, check=False)
    msgs = parse_trace(trace)
    finals = [(t, first) for t, k, first, dummy in msgs
              if k == "received" and re.match(r"SIP/2\.0 [2-6]\d\d", first)]
    # the answer to the authenticated request (CSeq 2), not the 401 challenge
    answer = None
    answered_at = None
    for t, k, first, text_ in msgs:
        if k == "received" and re.match(r"SIP/2\.0 [2-6]\d\d", first) and re.search(r"(?mi)^CSeq:\s*2 ", text_):
            answer = int(first.split()[1])
            if answer == 200 and answered_at is None:
                answered_at = t
    bye = [t for t, k, first, dummy in msgs if k == "received" and first.startswith("BYE ")]
    if kind == "answer":
        answer = 200 if any(k == "received" and first.startswith("INVITE ") for dummy, k, first, dummy2 in msgs) else None
    provisional = [first.split()[1] for dummy, k, first, dummy2 in msgs
                   if k == "received" and re.match(r"SIP/2\.0 1\d\d", first)]
    result = dict(rc=p.returncode, answer=answer, finals=[f for dummy, f in finals], provisional=provisional,
                  peer_hung_up=bool(bye),
                  seconds_to_bye=round(bye[0] - answered_at, 2) if bye and answered_at else None,
                  stderr=(p.stderr or "")[-500:])
    print(json.dumps(result))
    if not os.environ.get("SIPP_DIR"):  # keep the trace only when asked to
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) != 8 or a[0] not in ("call", "register", "answer", "anon"):
        sys.exit(__doc__)
    sys.exit(run(*a))
