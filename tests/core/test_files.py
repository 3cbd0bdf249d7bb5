"""File storage every process reaches: the database by default, an S3-compatible bucket when one is
configured (here a real S3 HTTP server, moto's, on its own port). Bytes at rest are never the
plaintext; the request's transaction decides whether a file stays; rotate-keys moves both."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from app.core import files
from app.core.crypto import keyring
from app.extensions import db
from tests.core.apps import another_app
from tests.files_support import PDF, image, s3_client, s3_server

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def raw_rows() -> dict[str, tuple]:
    with db.engine.connect() as conn:
        return {key: (backend, None if data is None else bytes(data), size, content_type) for key, backend, data, size,
                content_type in conn.execute(text("SELECT key, backend, data, size, content_type FROM stored_files"))}


@pytest.fixture
def s3(app):
    """The session app's storage pointed at a fresh bucket of a real S3 server; (endpoint, bucket, client)."""
    with s3_server() as (endpoint, bucket):
        client = s3_client(endpoint)
        files.storage.use_objects(files.ObjectStore(client, bucket))
        yield endpoint, bucket, client
        files.storage.use_objects(None)


def test_the_database_keeps_a_file_encrypted_and_gives_it_back(app_ctx):
    key = files.store(PDF, content_type="application/pdf")
    db.session.commit()
    backend, data, size, content_type = raw_rows()[key]
    assert (backend, size, content_type) == ("database", len(PDF), "application/pdf")
    assert PDF not in data and b"%PDF" not in data and keyring.decrypt(data) == PDF
    assert files.load(key) == PDF
    files.delete(key)
    db.session.commit()
    assert raw_rows() == {}
    with pytest.raises(files.FileMissing):
        files.load(key)


def test_a_file_stored_in_a_transaction_that_rolls_back_is_not_kept(app_ctx):
    files.store(PDF, content_type="application/pdf")
    db.session.rollback()
    assert raw_rows() == {}


def test_the_database_refuses_a_file_over_its_maximum(app_ctx, monkeypatch):
    monkeypatch.setattr(files.storage, "database_max_bytes", 100)
    with pytest.raises(files.FileTooLarge):
        files.store(b"x" * 101, content_type="application/pdf")


def test_the_object_store_holds_only_ciphertext_and_gives_the_file_back(app_ctx, s3):
    _endpoint, bucket, client = s3
    photo = image("PNG")
    key = files.store(photo, content_type="image/png")
    db.session.commit()
    backend, data, size, content_type = raw_rows()[key]
    assert (backend, data, size, content_type) == ("s3", None, len(photo), "image/png")
    body = client.get_object(Bucket=bucket, Key=f"files/{key}")["Body"].read()
    assert photo not in body and b"PNG" not in body and keyring.decrypt(body) == photo
    assert files.load(key) == photo  # through the HTTP API, decrypted
    assert list(files.object_keys()) == [key]


def test_an_object_whose_row_rolls_back_is_removed_and_a_deleted_one_goes_on_commit(app_ctx, s3):
    _endpoint, bucket, client = s3

    def objects() -> set[str]:
        return {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}

    files.store(PDF, content_type="application/pdf")
    assert len(objects()) == 1  # uploaded before the commit, so a committed row never names a missing object
    db.session.rollback()
    assert objects() == set()

    key = files.store(PDF, content_type="application/pdf")
    db.session.commit()
    files.delete(key)
    assert objects() == {f"files/{key}"}  # still there until the deletion commits
    db.session.commit()
    assert objects() == set() and raw_rows() == {}


def test_a_file_kept_in_the_database_is_still_read_once_s3_is_turned_on(app_ctx, s3):
    files.storage.use_objects(None)
    earlier = files.store(PDF, content_type="application/pdf")
    db.session.commit()
    files.storage.use_objects(files.ObjectStore(s3[2], s3[1]))
    later = files.store(PDF + b"2", content_type="application/pdf")
    db.session.commit()
    assert (files.load(earlier), files.load(later)) == (PDF, PDF + b"2")
    assert {k: v[0] for k, v in raw_rows().items()} == {earlier: "database", later: "s3"}


def test_the_settings_name_the_bucket_and_the_server(app):
    """S3_* settings alone (no client handed in) reach the real server: the configuration path operators use."""
    with s3_server() as (endpoint, bucket):
        with another_app(app, S3_BUCKET=bucket, S3_ENDPOINT_URL=endpoint, S3_REGION="us-east-1",
                         S3_ACCESS_KEY_ID="test-key", S3_SECRET_ACCESS_KEY="test-secret") as configured, \
                configured.app_context():
            key = files.store(PDF, content_type="application/pdf")
            db.session.commit()
            assert files.load(key) == PDF and raw_rows()[key][0] == "s3"
    assert files.storage.objects is None  # the session app's storage is back to the database


def test_rotate_keys_re_encrypts_stored_files_in_the_database_and_in_s3(app):
    photo = image("JPEG")
    with s3_server() as (endpoint, bucket):
        settings = dict(S3_BUCKET=bucket, S3_ENDPOINT_URL=endpoint, S3_REGION="us-east-1",
                        S3_ACCESS_KEY_ID="test-key", S3_SECRET_ACCESS_KEY="test-secret")
        with another_app(app, FERNET_KEYS=[KEY_A], **settings) as app_a, app_a.app_context():
            in_s3 = files.store(photo, content_type="image/jpeg")
            files.storage.use_objects(None)
            in_db = files.store(PDF, content_type="application/pdf")
            db.session.commit()
        with another_app(app, FERNET_KEYS=[KEY_B, KEY_A], **settings) as app_b:
            result = app_b.test_cli_runner().invoke(args=["rotate-keys"])
            assert result.exit_code == 0, result.output
            assert "stored_files.data: 1 re-encrypted" in result.output
            assert "stored_files.objects in S3: 1 re-encrypted" in result.output
        client, fernet_b = s3_client(endpoint), Fernet(KEY_B.encode())
        assert fernet_b.decrypt(client.get_object(Bucket=bucket, Key=f"files/{in_s3}")["Body"].read()) == photo
        assert fernet_b.decrypt(raw_rows()[in_db][1]) == PDF
        with another_app(app, FERNET_KEYS=[KEY_B], **settings) as only_b, only_b.app_context():
            assert (files.load(in_s3), files.load(in_db)) == (photo, PDF)  # the old key can go
            again = only_b.test_cli_runner().invoke(args=["rotate-keys"])
            assert "stored_files.objects in S3: 0 re-encrypted" in again.output
