"""Command lines carry secrets (issue 12, item 7): a curl whose URL holds a
token, whose -H holds an API key. By default kspan exports the command
(process.command, argv[0]) and not its arguments; with --capture-command-args
it exports them with the secrets REDACTED. url.query is redacted either way,
valueless parameters included."""

import harness
from checks import rand_hex
from harness import curl, is_client, is_server

SECRET = "s3cr3t-" + rand_hex(12)


def leaks(spans, secret):
    """The places `secret` appears in: attribute and resource values."""
    found = []
    for s in spans:
        for where, d in (("attributes", s.attributes), ("resource", s.resource)):
            for k, v in d.items():
                if secret in repr(v):
                    found.append("%s %s=%r of %r" % (where, k, v, s))
    return found


class TestCommandArgs(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.srv = harness.http_server()

    def exchange(self):
        """curl with a token in the URL (and a valueless parameter) and an API
        key in a header argument (not -u: curl blanks that one in its own
        argv); returns its result and the SERVER and CLIENT spans."""
        r = curl(self.srv.url("/ok?token=%s&debug" % SECRET), headers=["X-Api-Token: " + SECRET])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        srv = self.expect_spans(is_server(self.srv.port, self.srv.pid), 1, "SERVER span")[0]
        cli = self.expect_spans(is_client(self.srv.port, r.pid), 1, "CLIENT span of curl")[0]
        # The query is redacted on both ends, the bare "debug" too.
        for s in (srv, cli):
            self.assert_attr(s, "url.query", "token=REDACTED&REDACTED")
        return r, srv, cli

    def test_command_args_stay_on_the_node_by_default(self):
        self.start_kspan(ports=[self.srv.port])
        r, srv, cli = self.exchange()
        self.assertEqual(cli.resource.get("process.command"), "curl", repr(cli.resource))
        self.assertNotIn("process.command_args", cli.resource, repr(cli.resource))
        self.assertEqual(srv.resource.get("process.command"), harness.PY, repr(srv.resource))
        self.assertNotIn("process.command_args", srv.resource, repr(srv.resource))
        self.assertEqual(leaks(self.rx.spans(lambda s: True), SECRET), [])

    def test_capture_command_args_exports_them_redacted(self):
        self.start_kspan(ports=[self.srv.port], extra_args=["--capture-command-args"])
        r, srv, cli = self.exchange()
        args = cli.resource.get("process.command_args")
        self.assertIsInstance(args, list, repr(cli.resource))
        self.assertEqual(args[0], "curl", repr(args))
        self.assertIn(self.srv.url("/ok?token=REDACTED&REDACTED"), args)
        self.assertIn("X-Api-Token: REDACTED", args)
        self.assertIn("--port", srv.resource.get("process.command_args"), repr(srv.resource))
        self.assertEqual(leaks(self.rx.spans(lambda s: True), SECRET), [])
