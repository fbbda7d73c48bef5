/**
 * An application's materials (R9): the background images of cloud mix transcoding. Lists them
 * (ListMaterials, newest first, 100), adds one from a PNG or JPEG file (CreateMaterial: at most
 * 2 MiB = 2,097,152 bytes, checked by content on the server, with its x/y position on the
 * canvas in pixels) and deletes one (DeleteMaterial). A refusal's field violations (e.g. the
 * content is not an image) stand under their fields.
 */

import { api } from "../api.js";
import { ImageFormat, type Material } from "../../../node/src/gen/rtcconsole/v1/app_service_pb.js";
import { h, notice, replace, table, timeCell } from "../dom.js";
import { formatCount, timestampMs } from "../lib/format.js";
import { clearErrors, errorNotice, field, showError } from "./common.js";

/** The largest image CreateMaterial takes, in bytes (R9). */
export const MAX_MATERIAL_BYTES = 2_097_152;
const FORMAT: Record<number, string> = { [ImageFormat.PNG]: "PNG", [ImageFormat.JPEG]: "JPEG" };

/** The materials section of app `sdkAppId`; it loads itself. */
export function materialsSection(sdkAppId: bigint): HTMLElement {
  const el = h("section", { "aria-label": "Materials", "data-testid": "materials" });
  const listSlot = h("div");
  const status = h("div");
  const name = field("mat-name", "Name (up to 64 characters)", { maxlength: 64, autocomplete: "off" });
  const file = h("input", { id: "field-mat-content", type: "file", accept: "image/png,image/jpeg", required: true, "aria-describedby": "error-mat-content" });
  const x = field("mat-x_position", "x (px)", { type: "number", min: 0, value: 0, inputmode: "numeric" });
  const y = field("mat-y_position", "y (px)", { type: "number", min: 0, value: 0, inputmode: "numeric" });

  const load = async (): Promise<void> => {
    let materials: Material[];
    try {
      materials = (await api.apps.listMaterials({ sdkAppId, pageSize: 100 })).materials;
    } catch (reason) {
      replace(listSlot, errorNotice(reason));
      return;
    }
    replace(
      listSlot,
      materials.length === 0
        ? notice("info", "No material.")
        : table(
            "Materials",
            ["Id", "Name", "Format", "Size (px)", "Position (px)", "Bytes", "Added", ""],
            materials.map((m) => [
              h("code", null, String(m.materialId)),
              m.name || "–",
              FORMAT[m.format] ?? "?",
              `${m.width} × ${m.height}`,
              `${m.xPosition}, ${m.yPosition}`,
              formatCount(Number(m.sizeBytes)),
              timeCell(timestampMs(m.createTime)),
              h("button", { type: "button", class: "link", "aria-label": `Delete material ${m.materialId}`, onclick: () => void remove(m.materialId) }, "Delete"),
            ]),
            { id: "materials-table", "data-count": materials.length },
          ),
    );
  };

  const remove = async (materialId: bigint): Promise<void> => {
    try {
      await api.apps.deleteMaterial({ sdkAppId, materialId });
      replace(status);
      await load();
    } catch (reason) {
      replace(status, errorNotice(reason));
    }
  };

  const form: HTMLFormElement = h(
    "form",
    {
      class: "toolbar tag-form",
      id: "material-add",
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        clearErrors(form);
        const chosen = file.files?.[0];
        const error = form.querySelector("#error-mat-content")!;
        if (chosen === undefined) return void replace(error, "Choose a PNG or JPEG file.");
        if (chosen.size > MAX_MATERIAL_BYTES) return void replace(error, `At most ${formatCount(MAX_MATERIAL_BYTES)} bytes (this one has ${formatCount(chosen.size)}).`);
        try {
          const content = new Uint8Array(await chosen.arrayBuffer());
          await api.apps.createMaterial({ sdkAppId, name: name.input.value.trim(), content, xPosition: Number(x.input.value) || 0, yPosition: Number(y.input.value) || 0 });
          form.reset();
          replace(status, notice("ok", `Added ${chosen.name}.`));
          await load();
        } catch (reason) {
          showError(form, status, reason, "mat-");
        }
      },
    },
    h("div", { class: "field" }, h("label", { for: "field-mat-content" }, "Image (PNG or JPEG, ≤ 2 MiB)"), file, h("p", { id: "error-mat-content", class: "field-error", "aria-live": "polite" })),
    name.row,
    x.row,
    y.row,
    h("button", { type: "submit", id: "material-save" }, "Add"),
  );
  replace(el, h("h2", null, "Materials (R9)"), h("p", { class: "help" }, "Background images for cloud mix transcoding."), listSlot, form, status);
  void load();
  return el;
}
