"""Small real files for the document tests (made with Pillow: real images, a few hundred bytes), and
a real S3-compatible HTTP server (moto's, in a thread on its own port) for the object store tests."""
from __future__ import annotations

import contextlib
import io
import uuid

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def image(fmt: str = "PNG", size=(24, 16), colour=(11, 110, 110)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


@contextlib.contextmanager
def s3_server():
    """(endpoint URL, bucket): a moto S3 server on 127.0.0.1 and a fresh bucket, stopped afterwards."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint, bucket = f"http://{host}:{port}", f"myafya-test-{uuid.uuid4().hex[:8]}"
        s3_client(endpoint).create_bucket(Bucket=bucket)
        yield endpoint, bucket
    finally:
        server.stop()


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test-key",
                        aws_secret_access_key="test-secret")
