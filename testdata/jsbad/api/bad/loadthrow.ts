// An exception at module scope, thrown by an imported helper: the function
// fails to load with the helper's file:line:col; the rest are served.
import { required } from "./_required";

const name: string = required("WFN_UNSET_SETTING");

export function GET() {
  return new Response(name);
}
