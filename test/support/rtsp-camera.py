"""A minimal RTSP camera for the video relay's tests: GStreamer's RTSP server, one H.264 stream at /s.

argv: port bitrate_kbit pattern [username password] (pattern: videotestsrc's, e.g. ball; snow makes
every frame big). Prints "ready" once listening and "clients N" whenever the number of
connected RTSP clients changes, so a test can tell when nobody pulls the stream any more.
"""
import sys
import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port = sys.argv[1]
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    '( videotestsrc is-live=true pattern=' + sys.argv[3] + ' ! video/x-raw,width=640,height=360,framerate=25/1 '
    '! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=12 bitrate=' + sys.argv[2] + ' '
    '! video/x-h264,profile=baseline ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )'
)
factory.set_shared(True)
if len(sys.argv) >= 6:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string('media.factory.role', 'viewer')
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(sys.argv[4], sys.argv[5]), token)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role('viewer', 'media.factory.access', True)
    permissions.add_permission_for_role('viewer', 'media.factory.construct', True)
    factory.set_permissions(permissions)
server.get_mount_points().add_factory('/s', factory)
clients = 0


def on_client(_server, client):
    global clients
    clients += 1
    print('clients', clients, flush=True)

    def on_closed(_client):
        global clients
        clients -= 1
        print('clients', clients, flush=True)

    client.connect('closed', on_closed)


server.connect('client-connected', on_client)
if server.attach(None) == 0:
    sys.exit('cannot listen on port ' + port)
print('ready', flush=True)
GLib.MainLoop().run()
