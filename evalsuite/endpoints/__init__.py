"""Endpoints: a second kind of generator that requests a variant's images over HTTP.

Each protocol lives in one file under the :class:`~evalsuite.endpoints.base.Protocol`
interface and registers here, the one place protocols are listed.
"""

from evalsuite.endpoints.base import ImageRequest, Protocol, ProtocolResult
from evalsuite.endpoints.errors import EndpointError
from evalsuite.endpoints.fal_queue import FalQueue
from evalsuite.endpoints.openai_images import OpenAIImages
from evalsuite.endpoints.openai_videos import OpenAIVideos, OpenAIVideosForm
from evalsuite.endpoints.replicate import Replicate
from evalsuite.endpoints.spec import EndpointSpec, EndpointSpecError, MissingKeyError, parse_endpoint

PROTOCOLS: dict[str, type[Protocol]] = {
    cls.name: cls for cls in (OpenAIImages, FalQueue, Replicate, OpenAIVideos, OpenAIVideosForm)}

__all__ = ["PROTOCOLS", "EndpointError", "EndpointSpec", "EndpointSpecError", "ImageRequest",
           "MissingKeyError", "Protocol", "ProtocolResult", "parse_endpoint"]
