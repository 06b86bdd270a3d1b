"""Spot checks per category: the facts that make ``poolkit advise`` right or wrong.

Each row is a call a real Celery project makes, with what must be known about it. A
wrong greenness for a C driver (MySQLdb, confluent_kafka, pylibmc …) or a lost hazard
(CUDA before fork, asyncio loops) fails here.
"""

from __future__ import annotations

import pytest

from celery_poolkit.model import Effect, Green, Hazard

_NET, _DB, _BROKER = Effect.NET_IO, Effect.DB_IO, Effect.BROKER_IO
_CPU, _NOGIL, _SUB = Effect.CPU, Effect.CPU_RELEASES_GIL, Effect.SUBPROCESS
_AFTER, _BLOCKS, _ADAPTER = Green.SAFE_AFTER_PATCH, Green.BLOCKS_HUB, Green.NEEDS_ADAPTER

SPOT_CHECKS = [
    # HTTP clients
    ("requests.get", _NET, _AFTER),
    ("requests.Session.post", _NET, _AFTER),
    ("httpx.Client.get", _NET, _AFTER),
    ("pycurl.Curl.perform", _NET, _BLOCKS),
    # cloud SDKs
    ("botocore.client.BaseClient.put_object", _NET, _AFTER),
    ("botocore.client.BaseClient.generate_presigned_url", None, Green.SAFE),
    ("google.cloud.storage.Blob.upload_from_filename", _NET, _AFTER),
    ("google.cloud.storage.transfer_manager.upload_many", _NET, _AFTER),
    ("google.cloud.pubsub_v1.PublisherClient.publish", _NET, _ADAPTER),
    ("google.cloud.tasks_v2.CloudTasksClient", _NET, _ADAPTER),
    ("azure.storage.blob.BlobClient.upload_blob", _NET, _AFTER),
    ("minio.Minio.fput_object", _NET, _AFTER),
    # e-mail and messaging
    ("django.core.mail.send_mail", _NET, _AFTER),
    ("smtplib.SMTP.send_message", _NET, _AFTER),
    ("sendgrid.SendGridAPIClient.send", _NET, _AFTER),
    ("discord_webhook.DiscordWebhook.execute", _NET, _AFTER),
    ("openai.ChatCompletion.create", _NET, _AFTER),
    ("slack_sdk.WebClient.chat_postMessage", _NET, _AFTER),
    ("twilio.rest.Client.messages.create", _NET, _AFTER),
    ("firebase_admin.messaging.send", _NET, _AFTER),
    # databases and caches
    ("django.db.models.QuerySet.filter", _DB, _ADAPTER),
    ("django.db.models.Model.objects.get", _DB, _ADAPTER),
    ("django.core.cache.cache.get", _DB, _AFTER),
    ("sqlalchemy.orm.Session.execute", _DB, _ADAPTER),
    ("pymysql.connect", _DB, _AFTER),
    ("pymysql.cursors.Cursor.execute", _DB, _AFTER),
    ("MySQLdb.connect", _DB, _BLOCKS),
    ("MySQLdb.cursors.Cursor.execute", _DB, _BLOCKS),
    ("pymssql.connect", _DB, _BLOCKS),
    ("pyodbc.Cursor.execute", _DB, _BLOCKS),
    ("sqlite3.Cursor.execute", _DB, _BLOCKS),
    ("pymongo.MongoClient.shop.orders.find_one", _DB, _AFTER),
    ("cassandra.cluster.Session.execute", _DB, _AFTER),
    ("redis.Redis.get", _DB, _AFTER),
    ("redis.client.Pipeline.set", None, Green.SAFE),
    ("redis.client.Pipeline.execute", _DB, _AFTER),
    ("pylibmc.Client.get", _DB, _BLOCKS),
    ("pymemcache.client.base.Client.get", _DB, _AFTER),
    ("elasticsearch.Elasticsearch.search", _NET, _AFTER),
    ("django_elasticsearch_dsl.Document.update", _NET, _AFTER),
    ("clickhouse_driver.Client.execute", _DB, _AFTER),
    # brokers and streams
    ("kafka.KafkaProducer.send", _NET, _AFTER),
    ("confluent_kafka.Producer.flush", _NET, _BLOCKS),
    ("confluent_kafka.Producer.poll", _NET, _BLOCKS),
    ("confluent_kafka.Consumer.poll", _NET, _BLOCKS),
    ("confluent_kafka.Producer.produce", _NET, Green.SAFE),
    ("pika.adapters.blocking_connection.BlockingChannel.basic_publish", _NET, _AFTER),
    ("kombu.Producer.publish", _BROKER, _AFTER),
    ("celery.app.task.Task.delay", _BROKER, _AFTER),
    ("celery.app.task.Task.apply_async", _BROKER, _AFTER),
    ("celery.Celery.send_task", _BROKER, _AFTER),
    ("celery.canvas.Signature.apply_async", _BROKER, _AFTER),
    # images, arrays, data frames, ML
    ("PIL.Image.Image.resize", _NOGIL, Green.SAFE),
    ("numpy.linalg.svd", _NOGIL, Green.SAFE),
    ("numpy.vectorize", _CPU, Green.SAFE),
    ("pandas.DataFrame.apply", _CPU, Green.SAFE),
    ("pandas.DataFrame.iterrows", _CPU, Green.SAFE),
    ("pandas.core.groupby.DataFrameGroupBy.sum", _NOGIL, Green.SAFE),
    ("scipy.optimize.minimize", _CPU, Green.SAFE),
    ("scipy.linalg.solve", _NOGIL, Green.SAFE),
    ("sklearn.base.BaseEstimator.fit", _NOGIL, Green.SAFE),
    ("sklearn.feature_extraction.text.CountVectorizer.fit_transform", _CPU, Green.SAFE),
    ("cv2.GaussianBlur", _NOGIL, Green.SAFE),
    ("xgboost.train", _NOGIL, Green.SAFE),
    ("lightgbm.train", _NOGIL, Green.SAFE),
    ("torch.cuda.synchronize", Effect.GPU, Green.SAFE),
    # documents
    ("reportlab.platypus.SimpleDocTemplate.build", _CPU, Green.SAFE),
    ("weasyprint.HTML.write_pdf", _CPU, Green.SAFE),
    ("pypdf.PageObject.extract_text", _CPU, Green.SAFE),
    ("pdfminer.high_level.extract_text", _CPU, Green.SAFE),
    ("bs4.BeautifulSoup", _CPU, Green.SAFE),
    ("selectolax.lexbor.LexborHTMLParser", _CPU, Green.SAFE),
    ("flask.render_template", _CPU, Green.SAFE),
    ("moz.l10n.resource.parse_resource", _CPU, Green.SAFE),
    ("polib.pofile", _CPU, Green.SAFE),
    ("jinja2.Template.render", _CPU, Green.SAFE),
    ("lxml.etree.fromstring", _NOGIL, Green.SAFE),
    ("openpyxl.load_workbook", _CPU, Green.SAFE),
    ("pytesseract.image_to_string", Effect.CPU_CHILD, _AFTER),
    ("pdfkit.from_url", _SUB, _AFTER),
    # crypto
    ("bcrypt.hashpw", _NOGIL, Green.SAFE),
    ("passlib.context.CryptContext.hash", _NOGIL, Green.SAFE),
    ("cryptography.hazmat.primitives.asymmetric.rsa.generate_private_key", _CPU, Green.SAFE),
    # SaaS SDKs
    ("paramiko.SFTPClient.put", _NET, _AFTER),
    ("ldap3.Connection.search", _NET, _AFTER),
    ("ldap3.Connection.extend.standard.who_am_i", _NET, _AFTER),
    ("ldap3.Server", None, _AFTER),
    ("stripe.Customer.create", _NET, _AFTER),
    ("stripe.Webhook.construct_event", _CPU, Green.SAFE),
    ("openai.OpenAI.chat.completions.create", _NET, _AFTER),
    ("openai.chat.completions.create", _NET, _AFTER),
    ("anthropic.Anthropic.messages.create", _NET, _AFTER),
    ("sentry_sdk.capture_exception", None, Green.SAFE),
    ("sentry_sdk.flush", _NET, _AFTER),
]


@pytest.mark.parametrize(("qualname", "effect", "green"), SPOT_CHECKS)
def test_spot_check(knowledge, qualname: str, effect: Effect | None, green: Green) -> None:
    row = knowledge.lookup(qualname)
    assert row is not None, f"{qualname} is unknown"
    assert (row.effect, row.green) == (effect, green), row


HAZARDS = [
    ("torch.Tensor.cuda", Hazard.FORK_UNSAFE),
    ("torch.nn.Module.to", Hazard.FORK_UNSAFE),
    ("torch.utils.data.DataLoader", Hazard.SPAWNS_PROCESSES),
    ("tensorflow.keras.models.load_model", Hazard.FORK_UNSAFE),
    ("keras.Model.predict", Hazard.FORK_UNSAFE),
    ("transformers.pipeline", Hazard.FORK_UNSAFE),
    ("pymongo.MongoClient", Hazard.FORK_UNSAFE),
    ("google.cloud.pubsub_v1.PublisherClient", Hazard.FORK_UNSAFE),
    ("joblib.Parallel", Hazard.SPAWNS_PROCESSES),
    ("sklearn.model_selection.GridSearchCV", Hazard.SPAWNS_PROCESSES),
    ("boto3.client", Hazard.THREAD_UNSAFE),
    ("pika.BlockingConnection", Hazard.THREAD_UNSAFE),
    ("aiohttp.ClientSession.get", Hazard.RUNS_EVENT_LOOP),
    ("httpx.AsyncClient.post", Hazard.RUNS_EVENT_LOOP),
    ("telegram.Bot.send_message", Hazard.RUNS_EVENT_LOOP),
    ("openai.AsyncOpenAI.chat.completions.create", Hazard.RUNS_EVENT_LOOP),
    ("asgiref.sync.async_to_sync", Hazard.RUNS_EVENT_LOOP),
    ("asyncio.AbstractEventLoop.run_until_complete", Hazard.RUNS_EVENT_LOOP),
]


@pytest.mark.parametrize(("qualname", "hazard"), HAZARDS)
def test_hazard(knowledge, qualname: str, hazard: Hazard) -> None:
    row = knowledge.lookup(qualname)
    assert row is not None, f"{qualname} is unknown"
    assert hazard in row.hazards, row


CHAINS = [
    # (factory, methods called on its results in turn) -> effect, green of the last call
    (("boto3.client", "put_object"), _NET, _AFTER),
    (("boto3.session.Session", "client", "get_object"), _NET, _AFTER),
    (("boto3.resource", "Bucket", "upload_file"), _NET, _AFTER),
    (("requests.Session", "get"), _NET, _AFTER),
    (("httpx.Client", "post"), _NET, _AFTER),
    (("redis.Redis.from_url", "pipeline", "execute"), _DB, _AFTER),
    (("redis.Redis", "lock", "acquire"), _DB, _AFTER),
    (("MySQLdb.connect", "cursor", "execute"), _DB, _BLOCKS),
    (("pymysql.connect", "cursor", "execute"), _DB, _AFTER),
    (("sqlite3.connect", "execute", "fetchall"), _DB, _BLOCKS),
    (("sqlalchemy.create_engine", "connect", "execute"), _DB, _ADAPTER),
    (("sqlalchemy.orm.Session", "query", "filter", "all"), _DB, _ADAPTER),
    (("django.db.models.Model.objects.filter", "select_related", "first"), _DB, _ADAPTER),
    (("django.core.mail.EmailMultiAlternatives", "send"), _NET, _AFTER),
    (("google.cloud.storage.Client", "bucket", "blob", "upload_from_string"), _NET, _AFTER),
    (
        (
            "azure.storage.blob.BlobServiceClient.from_connection_string",
            "get_blob_client",
            "download_blob",
            "readall",
        ),
        _NET,
        _AFTER,
    ),
    (("confluent_kafka.Producer", "flush"), _NET, _BLOCKS),
    (("pika.BlockingConnection", "channel", "basic_publish"), _NET, _AFTER),
    (("kombu.Connection", "Producer", "publish"), _BROKER, _AFTER),
    (("celery.signature", "apply_async", "get"), _DB, _AFTER),
    (("PIL.Image.open", "convert", "resize"), _NOGIL, Green.SAFE),
    (("pathlib.Path", "read_bytes"), Effect.FILE_IO, _AFTER),
    (("pandas.read_csv", "apply"), _CPU, Green.SAFE),
    (("pandas.read_csv", "groupby", "mean"), _NOGIL, Green.SAFE),
    (("sklearn.ensemble.RandomForestClassifier", "fit"), _NOGIL, Green.SAFE),
    (("sklearn.feature_extraction.text.TfidfVectorizer", "fit_transform"), _CPU, Green.SAFE),
    (("paramiko.SSHClient", "open_sftp", "get"), _NET, _AFTER),
    (("ldap3.Connection", "search"), _NET, _AFTER),
    (("pymssql.connect", "cursor", "execute"), _DB, _BLOCKS),
    (("openai.OpenAI", "embeddings.create"), _NET, _AFTER),
    (("openai.OpenAI", "chat.completions.create"), _NET, _AFTER),
    (("openai.AzureOpenAI", "beta.threads.runs.create"), _NET, _AFTER),
    (("anthropic.Anthropic", "messages.create"), _NET, _AFTER),
    (("anthropic.Anthropic", "messages.batches.create"), _NET, _AFTER),
    (("twilio.rest.Client", "messages.create"), _NET, _AFTER),
    (("transformers.AutoTokenizer.from_pretrained", "encode"), _NOGIL, Green.SAFE),
]


@pytest.mark.parametrize(("chain", "effect", "green"), CHAINS)
def test_method_calls_resolve_through_returns(
    knowledge, chain: tuple[str, ...], effect: Effect, green: Green
) -> None:
    row = knowledge.chain(*chain)
    assert row is not None, f"{' -> '.join(chain)} does not resolve"
    assert (row.effect, row.green) == (effect, green), row


def test_lookup_prefers_exact_rows_then_the_longest_pattern(knowledge) -> None:
    # exact beats the client-wide pattern
    assert knowledge.lookup("botocore.client.BaseClient.get_paginator").effect is None
    # google.cloud.storage.* (REST) beats google.cloud.* (gRPC)
    assert knowledge.lookup("google.cloud.storage.Client.list_buckets").green is _AFTER
    assert knowledge.lookup("google.cloud.firestore.Client.collection").green is _ADAPTER
    # an unknown library stays unknown rather than matching something broad
    assert knowledge.lookup("somelib.do_io") is None
    assert knowledge.lookup("requests.exceptions.HTTPError") is None
