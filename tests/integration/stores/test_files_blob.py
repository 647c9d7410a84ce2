"""The Blob file store against Azurite through the real azure-storage-blob SDK; SAS links fetched over HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
import pytest
import requests
from azure.core.credentials import AccessToken
from azure.storage.blob import AccountSasPermissions, BlobServiceClient, ResourceTypes, generate_account_sas

from core.settings import Settings
from stores.call_policy import Caller, call_policy
from stores.errors import StoreUnavailable
from stores.files_blob import (
    BlobFileStore,
    account_key_of,
    blob_client_options,
    blob_file_store,
    blob_service,
    ensure_container,
)
from tests.faults.proxy import FaultKind, FaultProxy
from tests.integration.emulators import AZURITE_ACCOUNT, AZURITE_KEY, SELF_SIGNED_CERT, SELF_SIGNED_KEY, Azurite
from tests.support.file_store_contracts import FILE_STORE_CASES, FileCase

pytestmark = [
    pytest.mark.integration,
    # The OAuth Azurite serves HTTPS with a self-signed certificate (tests only).
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

CSV = "\ufeffDate;Production (MW)\r\n2024-10-27T02:00:00+02:00;12,5\r\n2024-10-27T02:00:00+01:00;\r\n".encode()
CSV_TYPE = "text/csv; charset=utf-8"


def azurite_settings(azurite: Azurite, container: str) -> Settings:
    return Settings(BLOB_CONNECTION_STRING=azurite.connection_string, BLOB_CONTAINER=container)


@pytest.fixture
def files(azurite: Azurite) -> BlobFileStore:
    # A container per test: names never collide and the container builder runs every time.
    return blob_file_store(azurite_settings(azurite, f"exports-{uuid.uuid4().hex[:12]}"))


def a_name() -> str:
    return f"11/2024/eco2mix_11_{uuid.uuid4().hex[:8]}.csv"


def fetch_over_http(url: str) -> tuple[bytes, str]:
    """A browser following the SAS link: the bytes and the Content-Disposition Blob Storage answers."""
    response = requests.get(url, timeout=10, verify=False)
    assert response.status_code == 200, response.text
    return response.content, response.headers["Content-Disposition"]


@pytest.mark.parametrize("case", FILE_STORE_CASES, ids=lambda c: c.__name__)
def test_file_store_contract(files: BlobFileStore, case: FileCase) -> None:
    case(files, fetch_over_http, "11")


@pytest.mark.parametrize("case", FILE_STORE_CASES, ids=lambda c: c.__name__)
def test_file_store_contract_with_user_delegation_links(delegated_files: BlobFileStore, case: FileCase) -> None:
    case(delegated_files, fetch_over_http, f"r{uuid.uuid4().hex[:8]}")


def test_blob_carries_type_disposition_and_md5(files: BlobFileStore) -> None:
    name = a_name()
    files.put(name, CSV, CSV_TYPE)
    props = files.container.get_blob_client(name).get_blob_properties().content_settings
    assert props.content_type == CSV_TYPE
    assert props.content_disposition == f'attachment; filename="{name.rsplit("/", 1)[-1]}"'
    assert props.content_md5 is not None and len(bytes(props.content_md5)) == 16


def test_identical_bytes_skip_the_upload(files: BlobFileStore) -> None:
    name = a_name()
    files.put(name, CSV, CSV_TYPE)
    etag = files.container.get_blob_client(name).get_blob_properties().etag
    assert files.put(name, CSV, CSV_TYPE) is False
    assert files.container.get_blob_client(name).get_blob_properties().etag == etag


def test_account_key_comes_from_the_connection_string(azurite: Azurite, files: BlobFileStore) -> None:
    assert account_key_of(blob_service(azurite_settings(azurite, "unused"))) == AZURITE_KEY
    assert "skoid=" not in files.signed_url(a_name(), 600, "f.csv")  # account-key SAS, no delegation key


def test_sas_link_downloads_the_bytes_as_an_attachment(files: BlobFileStore) -> None:
    name = a_name()
    files.put(name, CSV, CSV_TYPE)
    response = requests.get(files.signed_url(name, 600, "eco2mix_11_2024-10-27.csv"), timeout=10)
    assert response.status_code == 200
    assert response.content == CSV
    assert response.headers["Content-Disposition"] == 'attachment; filename="eco2mix_11_2024-10-27.csv"'
    assert response.headers["Content-Type"] == CSV_TYPE


@pytest.mark.parametrize(
    ("download", "disposition"),
    [
        ("eco2mix_93_2024-06.csv", 'attachment; filename="eco2mix_93_2024-06.csv"'),
        (
            "éco2mix Île-de-France.csv",
            'attachment; filename="_co2mix _le-de-France.csv"; '
            "filename*=UTF-8''%C3%A9co2mix%20%C3%8Ele-de-France.csv",
        ),
    ],
    ids=["ascii", "non-ascii"],
)
def test_download_name_reaches_the_content_disposition(files: BlobFileStore, download: str, disposition: str) -> None:
    name = a_name()
    files.put(name, CSV, CSV_TYPE)
    response = requests.get(files.signed_url(name, 600, download), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == disposition


def test_sas_is_read_only_one_blob_and_at_most_fifteen_minutes(files: BlobFileStore) -> None:
    name = a_name()
    files.put(name, CSV, CSV_TYPE)
    now = time.time()
    query = dict(parse_qsl(urlsplit(files.signed_url(name, 86_400, "f.csv", now=now)).query))
    assert query["sp"] == "r"
    assert query["sr"] == "b"
    start, expiry = (time.mktime(time.strptime(query[k], "%Y-%m-%dT%H:%M:%SZ")) for k in ("st", "se"))
    assert expiry - start == 15 * 60 + 5 * 60  # clamped TTL + the clock-skew start


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def other_blob(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.replace("eco2mix_11_", "eco2mix_12_")))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: with_query(url, se="2099-01-01T00:00:00Z"),
        lambda url: with_query(url, sp="rw"),
        lambda url: with_query(url, rscd='attachment; filename="other.csv"'),
        lambda url: with_query(url, sig="A" + dict(parse_qsl(urlsplit(url).query))["sig"][1:]),
        other_blob,
    ],
    ids=["expiry", "permission", "disposition", "signature", "other-blob"],
)
def test_tampered_sas_is_refused(files: BlobFileStore, tamper: Callable[[str], str]) -> None:
    name = a_name()
    files.put(name, CSV, CSV_TYPE)
    files.put(name.replace("eco2mix_11_", "eco2mix_12_"), CSV, CSV_TYPE)
    url = files.signed_url(name, 600, "f.csv")
    assert requests.get(url, timeout=10).status_code == 200
    assert requests.get(tamper(url), timeout=10).status_code == 403


def test_expired_sas_is_refused(files: BlobFileStore) -> None:
    name = a_name()
    files.put(name, CSV, CSV_TYPE)
    url = files.signed_url(name, 60, "f.csv", now=time.time() - 3600)
    assert requests.get(url, timeout=10).status_code == 403


def test_write_through_the_sas_is_refused(files: BlobFileStore) -> None:
    name = a_name()
    files.put(name, CSV, CSV_TYPE)
    url = files.signed_url(name, 600, "f.csv")
    response = requests.put(url, data=b"overwritten", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    assert response.status_code == 403
    assert files.read(name) == CSV


def test_container_creation_refused_by_the_service_is_tolerated(azurite: Azurite) -> None:
    # An identity allowed to read but not to create containers: in Azure, bicep created the container.
    sas = generate_account_sas(
        AZURITE_ACCOUNT,
        AZURITE_KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(minutes=10),
    )
    name = f"provisioned-{uuid.uuid4().hex[:8]}"
    ensure_container(BlobServiceClient(azurite.blob_endpoint, credential=sas), name)
    owner = blob_service(azurite_settings(azurite, name))
    assert not owner.get_container_client(name).exists()
    ensure_container(owner, name)
    ensure_container(owner, name)  # already there: no error
    assert owner.get_container_client(name).exists()


def test_ping_fails_on_a_missing_container(azurite: Azurite) -> None:
    service = blob_service(azurite_settings(azurite, "unused"))
    with pytest.raises(Exception, match="ContainerNotFound"):
        BlobFileStore(service, "absent-container", account_key=account_key_of(service)).ping()


class UnsignedEntraToken:
    """A TokenCredential issuing Entra-shaped JWTs: Azurite `--oauth basic` checks issuer, audience and
    lifetime but not the signature. Stands in for the managed identity, against the real emulator."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": f"https://sts.windows.net/{TENANT}/",
            "tid": TENANT,
            "oid": OBJECT_ID,
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
        }
        return AccessToken(jwt.encode(claims, "unchecked-signature-key-of-32-bytes!", algorithm="HS256"), now + 3600)


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OBJECT_ID = "11059fcc-5514-4800-b5f8-49808b9cfab6"


@pytest.fixture
def delegated_files(azurite_oauth: Azurite) -> BlobFileStore:
    service = BlobServiceClient(azurite_oauth.blob_endpoint, credential=UnsignedEntraToken(), connection_verify=False)
    assert account_key_of(service) is None
    container = f"exports-{uuid.uuid4().hex[:12]}"
    ensure_container(service, container)
    return BlobFileStore(service, container, account_key=None)


def test_user_delegation_sas_downloads_and_refuses_writes(delegated_files: BlobFileStore) -> None:
    name = a_name()
    delegated_files.put(name, CSV, CSV_TYPE)
    url = delegated_files.signed_url(name, 600, "eco2mix_11.csv")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["skoid"] == OBJECT_ID and query["sktid"] == TENANT and query["spr"] == "https"
    response = requests.get(url, timeout=10, verify=False)
    assert response.status_code == 200
    assert response.content == CSV
    assert response.headers["Content-Disposition"] == 'attachment; filename="eco2mix_11.csv"'
    assert response.headers["Content-Type"] == CSV_TYPE
    assert requests.get(with_query(url, sp="rw"), timeout=10, verify=False).status_code == 403
    put = requests.put(url, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10, verify=False)
    assert put.status_code == 403


def test_user_delegation_key_is_reused_until_near_its_expiry(delegated_files: BlobFileStore) -> None:
    name = a_name()
    now = time.time()
    skt = [
        dict(parse_qsl(urlsplit(delegated_files.signed_url(name, 900, "f.csv", now=now + offset)).query))["skt"]
        for offset in (0, 60, 3600, 2 * 3600)
    ]
    # The first three links share one key (asked for 2 h); two hours later it is too close to expiry.
    assert skt[0] == skt[1] == skt[2]
    assert skt[3] != skt[0]


@pytest.mark.parametrize("fault", ["503", "timeout", "reset"])
def test_user_delegation_key_fault_is_store_unavailable_then_recovers(azurite_oauth: Azurite, fault: FaultKind) -> None:
    # The managed-identity link needs a user-delegation key from the service: the API's read policy bounds it.
    proxy = FaultProxy(
        azurite_oauth.blob_endpoint.rsplit("/", 1)[0], tls=True, cert=SELF_SIGNED_CERT, key=SELF_SIGNED_KEY
    )
    proxy.start()
    try:
        policy = call_policy(Settings(STORE_READ_TIMEOUT_SECONDS=0.5), Caller.reads)
        service = BlobServiceClient(
            f"{proxy.url}/{AZURITE_ACCOUNT}",
            credential=UnsignedEntraToken(),
            connection_verify=False,
            **blob_client_options(policy),
        )
        container = f"exports-{uuid.uuid4().hex[:12]}"
        ensure_container(service, container)
        files = BlobFileStore(service, container, account_key=None)
        proxy.arm_until_cleared(fault)
        with pytest.raises(StoreUnavailable):
            files.signed_url(a_name(), 600, "x.csv")
        assert proxy.faulted == policy.attempts
        proxy.clear()
        assert "skoid=" in files.signed_url(a_name(), 600, "x.csv")
    finally:
        proxy.stop()
