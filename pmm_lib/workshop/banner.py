"""A connection banner that works when the server is gone.

:class:`ConnectionBanner` is an ipyvue template widget: its check runs in the browser (every
half second it reads the Solara client's connection status), so when the server stops or the
network drops, the page is covered by a banner in the participant's language and the sliders
can no longer be moved to no effect. The message is sent while the connection is still up
(:meth:`ConnectionBanner.set_language`). Outside the room's server (JupyterLab) there is no
Solara client status and the banner stays hidden (JupyterLab shows the kernel's state itself).
"""

from __future__ import annotations

import ipyvue
import traitlets

from pmm_lib.workshop.i18n import t

__all__ = ["ConnectionBanner"]

_TEMPLATE = """
<template>
  <div v-if="lost" class="pmm-offline" style="position:fixed;top:0;left:0;right:0;bottom:0;z-index:200000;
       background:rgba(255,255,255,0.65)">
    <div style="background:#b35806;color:white;padding:12px;font-size:17px;text-align:center">{{ message }}</div>
  </div>
</template>
<script>
module.exports = {
  data() { return { lost: false }; },
  mounted() {
    this.pmmTimer = setInterval(() => {
      const s = window.solara && window.solara.debug && window.solara.debug.connectionStatus;
      this.lost = !!s && s !== 'connected';
    }, 500);
  },
  destroyed() { clearInterval(this.pmmTimer); },
  unmounted() { clearInterval(this.pmmTimer); }
}
</script>
"""


class ConnectionBanner(ipyvue.VueTemplate):
    """Covers the page with "connection lost" while the browser is not connected to the server."""

    template = traitlets.Unicode(_TEMPLATE).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def set_language(self, lang: str) -> None:
        """Send the message in ``lang`` now, while the connection is up."""
        self.message = t("connection_lost", lang)
