#!/usr/bin/python3
"""The camera simulator's RTSP server (docs/video.md, "The simulator's stream"; issue 20).

GStreamer's RTSP server (GstRtspServer through python3-gi, Debian packages): /main 1280x720 and
/sub 640x360, H.264 constrained baseline, FPS frames a second (default 25), a key frame every half
second, a moving test pattern with a burnt-in clock (HH:MM:SS) and the machine-readable clock of
protocol/video-clock.ts drawn into every frame: a row of square blocks from (0, 0), marker 1010,
48 bits of the wall-clock time in ms when the frame was captured, 4 check bits (count of ones mod
16), white luma 235 / black 16, block edge max(4, width // 64) px; chroma under the row is neutral.

Media are shared between viewers and built only when someone asks: no viewer, no pipeline.
Reports on stdout, one JSON object a line: ready, client-open/close, media-prepared/unprepared.
Exits on SIGTERM/SIGINT, or when stdin closes (the Node process that started it is gone).

    /usr/bin/python3 rtsp-sim.py --port 8554 [--host 127.0.0.1] [--fps 25] [--username U --password P [--auth digest|basic]]
                                 [--main-size 1920x1080] [--main-kbps 4000] [--sub-size 640x360] [--sub-kbps 512] [--cbr]
The sizes and bit rates default to /main 1280x720 at 2000 kbit/s and /sub 640x360 at 500 kbit/s
(bench/video.ts asks for a 1080p main stream). --cbr pads to the bit rate with filler data, as a
camera set to constant bit rate does (the moving test pattern alone needs about half the rate).
The password may come from the environment (RB_RTSP_SIM_PASSWORD) instead of the command line.
"""
import argparse
import ctypes
import json
import os
import signal
import sys
import time

# rtsp-sim.ts RTSP_SIM_PACKAGES, scripts/ensure-deps.sh GST_PKGS
PACKAGES = 'python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-x'

try:
    import gi

    gi.require_version('Gst', '1.0')
    gi.require_version('GstVideo', '1.0')
    gi.require_version('GstRtspServer', '1.0')
    gi.require_version('GstRtsp', '1.0')
    from gi.repository import GLib, Gst, GstRtsp, GstRtspServer, GstVideo
except (ImportError, ValueError) as err:  # no python3-gi, or no typelib for the RTSP server
    sys.stdout.write(json.dumps({'ev': 'error', 'message': f'cannot load GStreamer\'s RTSP server through python3-gi ({err}); install the Debian packages {PACKAGES}'}) + '\n')
    sys.stdout.flush()
    sys.exit(3)

# protocol/video-clock.ts
MARKER = [1, 0, 1, 0]
DATA_BITS = 48
CHECK_BITS = 4
WHITE, BLACK = 235, 16
SIZES = {'main': (1280, 720, 2000), 'sub': (640, 360, 500)}  # width, height, kbit/s


def emit(ev, **kw):
    sys.stdout.write(json.dumps({'ev': ev, **kw}) + '\n')
    sys.stdout.flush()


def clock_bits(ms):
    data = [(ms >> (DATA_BITS - 1 - i)) & 1 for i in range(DATA_BITS)]
    ones = sum(data) % (1 << CHECK_BITS)
    check = [(ones >> (CHECK_BITS - 1 - i)) & 1 for i in range(CHECK_BITS)]
    return MARKER + data + check


def block_size(width):
    return max(4, width // 64)


# The probe writes into the frame in place. Without gst-python's overrides, PyGObject hands out a
# read-only copy of a mapped buffer, so the buffer is mapped through libgstreamer itself (ctypes), and
# only when GStreamer says it is writable (we hold the one reference, as the probe's caller does).
_gst = ctypes.CDLL('libgstreamer-1.0.so.0')


class _MapInfo(ctypes.Structure):
    _fields_ = [('memory', ctypes.c_void_p), ('flags', ctypes.c_int), ('data', ctypes.c_void_p), ('size', ctypes.c_size_t),
                ('maxsize', ctypes.c_size_t), ('user_data', ctypes.c_void_p * 4), ('_gst_reserved', ctypes.c_void_p * 4)]


class _ProbeInfo(ctypes.Structure):  # GstPadProbeInfo: type, id, data, ...
    _fields_ = [('type', ctypes.c_int), ('id', ctypes.c_ulong), ('data', ctypes.c_void_p)]


_gst.gst_buffer_map.argtypes = [ctypes.c_void_p, ctypes.POINTER(_MapInfo), ctypes.c_int]
_gst.gst_buffer_map.restype = ctypes.c_int
_gst.gst_buffer_unmap.argtypes = [ctypes.c_void_p, ctypes.POINTER(_MapInfo)]
_gst.gst_mini_object_is_writable.argtypes = [ctypes.c_void_p]
_gst.gst_mini_object_is_writable.restype = ctypes.c_int
GST_MAP_WRITE = 2 | 1  # GST_MAP_READ | GST_MAP_WRITE


def _struct_pointer(boxed):
    """The C pointer a PyGObject struct wrapper holds (PyObject_HEAD, then the pointer)."""
    return ctypes.c_void_p.from_address(id(boxed) + 2 * ctypes.sizeof(ctypes.c_void_p)).value


class ClockPainter:
    """Draws the machine-readable clock into I420 frames of one size."""

    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.block = block_size(width)
        info = GstVideo.VideoInfo()
        info.set_format(GstVideo.VideoFormat.I420, width, height)
        self.stride = list(info.stride[:3])
        self.offset = list(info.offset[:3])
        self.failed = False

    def paint(self, buf_ptr, ms):
        b = self.block
        bits = clock_bits(ms)
        luma = b''.join((bytes([WHITE]) if bit else bytes([BLACK])) * b for bit in bits)
        info = _MapInfo()
        if not _gst.gst_mini_object_is_writable(buf_ptr) or not _gst.gst_buffer_map(buf_ptr, ctypes.byref(info), GST_MAP_WRITE):
            if not self.failed:
                self.failed = True
                sys.stderr.write('rtsp-sim: a frame was not writable; its clock row is missing\n')
            return
        try:
            need = self.offset[2] + self.stride[2] * (self.height // 2)
            if info.size < need:
                return
            frame = (ctypes.c_uint8 * info.size).from_address(info.data)
            view = memoryview(frame).cast('B')
            y0, s0 = self.offset[0], self.stride[0]
            for y in range(b):
                view[y0 + y * s0: y0 + y * s0 + len(luma)] = luma
            grey = bytes([128]) * (len(luma) // 2)
            for plane in (1, 2):
                o, s = self.offset[plane], self.stride[plane]
                for y in range(b // 2):
                    view[o + y * s: o + y * s + len(grey)] = grey
            view.release()
        finally:
            _gst.gst_buffer_unmap(buf_ptr, ctypes.byref(info))


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, path, width, height, kbps, fps, cbr=False, clock_row=True):
        super().__init__()
        self.path = path
        self.painter = ClockPainter(width, height)
        keyint = max(1, fps // 2)
        # --cbr: filler data up to the bit rate (x264's CBR HRD), as a camera set to constant bit rate
        # sends; the test pattern alone needs about half the rate asked.
        pad = ' option-string="nal-hrd=cbr:filler=1"' if cbr else ''
        self.set_launch(
            '( videotestsrc is-live=true pattern=smpte75 horizontal-speed=2 '
            f'! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 '
            f'! clockoverlay time-format="%H:%M:%S" halignment=right valignment=bottom font-desc="Sans {max(12, height // 18)}" '
            '! identity name=stamp '
            # threads=1: with x264's sliced threads (zerolatency's default) the P frames came out without
            # the clock row drawn by the probe; one thread encodes what the probe left in the frame.
            f'! x264enc threads=1 tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max={keyint} bitrate={kbps} byte-stream=true{pad} '
            '! video/x-h264,profile=constrained-baseline,stream-format=byte-stream '
            '! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
        self.set_shared(True)
        self.set_eos_shutdown(False)
        self.clock_row = clock_row
        self.connect('media-configure', self.on_configure)

    def on_configure(self, _factory, media):
        if self.clock_row:
            stamp = media.get_element().get_by_name('stamp')
            stamp.get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, self.on_frame)
        media.connect('prepared', lambda _m: emit('media-prepared', path=self.path))
        media.connect('unprepared', lambda _m: emit('media-unprepared', path=self.path))

    def on_frame(self, _pad, info):
        # The wall clock now: the frame left the (live) source a moment ago.
        ms = int(time.time() * 1000)
        buf_ptr = _ProbeInfo.from_address(_struct_pointer(info)).data
        # Cross-check against PyGObject's own wrapper (its hash is the pointer; dropping it gives its
        # reference back at once), so a PyGObject whose layout differs skips the row instead of crashing.
        wrapper = info.get_buffer()
        same = wrapper is not None and hash(wrapper) == buf_ptr
        del wrapper
        if buf_ptr and same:
            self.painter.paint(buf_ptr, ms)
        elif not self.painter.failed:
            self.painter.failed = True
            sys.stderr.write('rtsp-sim: cannot reach the frame buffer; no clock row\n')
        return Gst.PadProbeReturn.OK


def size_arg(text):
    m = text.lower().split('x')
    if len(m) != 2 or not all(x.isdigit() for x in m):
        raise argparse.ArgumentTypeError(f'{text!r} is not WIDTHxHEIGHT')
    w, h = int(m[0]), int(m[1])
    if not (16 <= w <= 3840 and 16 <= h <= 2160 and w % 2 == 0 and h % 2 == 0):
        raise argparse.ArgumentTypeError(f'{text!r}: even sizes 16..3840 x 16..2160')
    return w, h


def main():
    p = argparse.ArgumentParser(description='RTSP test-pattern camera (/main 1280x720, /sub 640x360)')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--fps', type=int, default=25)
    p.add_argument('--username')
    p.add_argument('--password', default=os.environ.get('RB_RTSP_SIM_PASSWORD'))
    p.add_argument('--auth', choices=('digest', 'basic'), default='digest', help='RTSP login scheme when --username is given')
    for q in SIZES:
        w, h, kbps = SIZES[q]
        p.add_argument(f'--{q}-size', type=size_arg, default=(w, h), help=f'/{q} WIDTHxHEIGHT (default {w}x{h})')
        p.add_argument(f'--{q}-kbps', type=int, default=kbps, help=f'/{q} bit rate asked of the encoder, kbit/s (default {kbps})')
    p.add_argument('--cbr', action='store_true', help='pad every stream to its bit rate with filler data (a camera in CBR mode)')
    p.add_argument('--no-session-cleanup', action='store_true', help='do not reap vanished clients\' sessions every 2 s (the pool\'s own 60 s timeout still applies)')
    p.add_argument('--no-clock-row', action='store_true', help='leave out the machine-readable clock row (no Python on the streaming threads)')
    p.add_argument('--watch-stdin', action='store_true', help='exit when stdin closes (the parent process is gone)')
    a = p.parse_args()
    if not 1 <= a.fps <= 60:
        p.error('--fps must be 1..60')
    for q in SIZES:
        if not 50 <= getattr(a, f'{q}_kbps') <= 50000:
            p.error(f'--{q}-kbps must be 50..50000')
    Gst.init(None)
    missing = [e for e in ('videotestsrc', 'clockoverlay', 'x264enc', 'h264parse', 'rtph264pay') if Gst.ElementFactory.find(e) is None]
    if missing:
        emit('error', message=f'GStreamer elements missing: {", ".join(missing)}; install the Debian packages {PACKAGES}')
        return 3

    server = GstRtspServer.RTSPServer()
    server.set_address(a.host)
    server.set_service(str(a.port))
    mounts = server.get_mount_points()
    factories = []
    for path in SIZES:
        w, h = getattr(a, f'{path}_size')
        f = Factory('/' + path, w, h, getattr(a, f'{path}_kbps'), a.fps, a.cbr, not a.no_clock_row)
        mounts.add_factory('/' + path, f)
        factories.append(f)
    if a.username:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, 'viewer')
        # One scheme at a time: GstRtsp.RTSPAuthMethod reaches Python as an enum, not as flags.
        if a.auth == 'digest':
            auth.add_digest(a.username, a.password or '', token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.username, a.password or ''), token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        server.set_auth(auth)
        for f in factories:
            f.add_role_from_structure(Gst.Structure.new_from_string(
                'viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true'))

    def on_client(_server, client):
        emit('client-open')
        client.connect('closed', lambda _c: emit('client-close'))

    server.connect('client-connected', on_client)
    if server.attach(None) == 0:
        emit('error', message=f'cannot listen on {a.host}:{a.port}')
        return 2
    # Sessions whose client vanished without TEARDOWN are reaped (the pool's own timeout is 60 s).
    pool = server.get_session_pool()
    if not a.no_session_cleanup:
        GLib.timeout_add_seconds(2, lambda: pool.cleanup() >= 0)

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda: loop.quit() or False)
    if a.watch_stdin:
        GLib.io_add_watch(GLib.IOChannel.unix_new(0), GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP,
                          lambda ch, cond: (loop.quit() if (cond & GLib.IOCondition.HUP) or not os.read(0, 4096) else None) or True)
    emit('ready', port=server.get_bound_port())
    loop.run()
    emit('stopped')
    return 0


if __name__ == '__main__':
    code = main()
    sys.stdout.flush()
    # Streaming threads may still run: leave without tearing the interpreter down under them.
    os._exit(code)
