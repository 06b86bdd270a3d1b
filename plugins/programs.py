"""Programs run in a child process: which of them burn a core while the task waits.

**Knows:** CPU-heavy executables started with ``subprocess`` / ``os.system`` /
``asyncio.create_subprocess_*``: video and audio (``ffmpeg``, ``avconv``, ``sox``,
``lame``, ``HandBrakeCLI``), speech (``whisper``), OCR (``tesseract``, ``ocrmypdf``),
documents (``gs`` / Ghostscript, ``libreoffice`` / ``soffice`` / ``unoconv``,
``wkhtmltopdf``, ``pdftoppm``, LaTeX), images (ImageMagick ``convert`` / ``magick`` /
``mogrify``, ``optipng``, ``pngquant``, ``jpegoptim``, ``cwebp``, ``inkscape``),
point clouds and maps (``pdal``, ``entwine``, ``gdalwarp`` …) and 3-D (``blender``).
The advisor reads the program from the call's literal first argument, a local list
holding it, ``shutil.which("…")`` or a name such as ``settings.FFMPEG_BINARY``, and looks
it up here as ``subprocess.<program>``. Also the programs whose job is a transfer or a
probe of a remote host, which wait on the network (``NET_IO``): ``curl``, ``wget``,
``rsync``, ``scp`` / ``sftp`` / ``ssh``, cloud CLIs (``aws``, ``gsutil``, ``gcloud``,
``az``, ``rclone``, ``s3cmd``), downloaders (``yt-dlp``) and probes (``dig``,
``nslookup``, ``whois``, ``ping``, ``traceroute``, ``geoiplookup``) and port scanners
(``nmap``, ``masscan``, ``naabu``, ``zmap``).

**Pools:** the task itself only waits on the child (``subprocess`` is cooperative
under gevent after patching), so any pool runs it; but each running task keeps a core
busy in the child. ``gevent -c 50`` would start fifty transcodes per process on a
two-core host: the advisor caps the queue's concurrency at the host's cores, whatever
pool it picks, and says why (``cpu_child`` evidence).

**Fix:** a queue of its own for these tasks, ``-c`` = cores; limit the program's own
threads (``-threads 1``, ``OMP_THREAD_LIMIT=1``) when several run side by side.

**Sources:** ffmpeg docs (``-threads``); tesseract docs (``OMP_THREAD_LIMIT``);
pool-benchmark.md (a one-process pool's throughput is bounded by its cores);
advisor-anchors.md (transcoding and OCR queues in WebODM, paperless-ngx, mayan).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins.base import Plugin

#: Executable name (as an identifier: ``rsvg-convert`` is ``rsvg_convert``) -> what it is.
CPU_PROGRAMS: dict[str, str] = {
    "ffmpeg": "video/audio transcoding",
    "avconv": "video/audio transcoding",
    "handbrakecli": "video transcoding",
    "sox": "audio processing",
    "lame": "MP3 encoding",
    "whisper": "speech recognition",
    "tesseract": "OCR",
    "ocrmypdf": "OCR of PDFs",
    "gs": "Ghostscript rendering",
    "gswin64c": "Ghostscript rendering",
    "ghostscript": "Ghostscript rendering",
    "libreoffice": "document conversion",
    "soffice": "document conversion",
    "lowriter": "document conversion",
    "unoconv": "document conversion",
    "wkhtmltopdf": "HTML to PDF rendering",
    "pdftoppm": "PDF rasterising",
    "pdftocairo": "PDF rasterising",
    "pdflatex": "LaTeX typesetting",
    "xelatex": "LaTeX typesetting",
    "lualatex": "LaTeX typesetting",
    "latexmk": "LaTeX typesetting",
    "convert": "ImageMagick",
    "magick": "ImageMagick",
    "mogrify": "ImageMagick",
    "montage": "ImageMagick",
    "optipng": "PNG optimisation",
    "pngquant": "PNG quantisation",
    "jpegoptim": "JPEG optimisation",
    "cwebp": "WebP encoding",
    "inkscape": "SVG rendering",
    "rsvg_convert": "SVG rendering",
    "pdal": "point-cloud processing",
    "entwine": "point-cloud indexing",
    "untwine": "point-cloud indexing",
    "potreeconverter": "point-cloud conversion",
    "gdalwarp": "raster reprojection",
    "gdal_translate": "raster conversion",
    "gdaldem": "raster processing",
    "ogr2ogr": "vector conversion",
    "blender": "3-D rendering",
    "colmap": "photogrammetry",
}

#: Programs that transfer to or probe a remote host: the child waits on the network.
NET_PROGRAMS: dict[str, str] = {
    "curl": "an HTTP transfer",
    "wget": "an HTTP transfer",
    "rsync": "a transfer to or from a remote host",
    "scp": "a copy over SSH",
    "sftp": "a copy over SSH",
    "ssh": "a command on a remote host",
    "aws": "a cloud API call",
    "gsutil": "a cloud storage transfer",
    "gcloud": "a cloud API call",
    "az": "a cloud API call",
    "rclone": "a cloud storage transfer",
    "s3cmd": "an object store transfer",
    "yt_dlp": "a media download",
    "youtube_dl": "a media download",
    "dig": "a DNS query",
    "nslookup": "a DNS query",
    "whois": "a WHOIS query",
    "ping": "a network probe",
    "traceroute": "a network probe",
    "nmap": "a network scan",
    "masscan": "a network scan",
    "naabu": "a network scan",
    "zmap": "a network scan",
    "geoiplookup": "a DNS lookup of the host",
}

PLUGIN = Plugin(
    name="programs",
    modules=("subprocess",),
    summary="Programs in a child process: CPU-heavy ones cap concurrency at the cores.",
    calls=tuple(
        Call(
            f"subprocess.{program}",
            Effect.CPU_CHILD,
            Green.SAFE_AFTER_PATCH,
            note=f"{what} in a child process: a core per running task",
        )
        for program, what in CPU_PROGRAMS.items()
    )
    + tuple(
        Call(
            f"subprocess.{program}",
            Effect.NET_IO,
            Green.SAFE_AFTER_PATCH,
            note=f"{what} in a child process the task waits on",
        )
        for program, what in NET_PROGRAMS.items()
    ),
)
