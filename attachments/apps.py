from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "attachments"

    def ready(self) -> None:
        from attachments import exposure, receivers
        from communities import exposure as community_exposure

        receivers.connect()
        community_exposure.register(exposure.attachment_exposure)
        community_exposure.register_thread(exposure.thread_attachment_exposure)
